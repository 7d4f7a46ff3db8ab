/*
 * lwip-sut: Debian's lwIP (liblwip0 2.1.3, built for the Hurd's unix port: NO_SYS=0 with a
 * tcpip thread, the sockets API) brought up on a TAP device as a system under test.
 *
 * The TAP driver is this file's own (tap_netif_init, tap_reader), not the unix port's tapif
 * that liblwip0 ships: tapif reads each frame into a PBUF_POOL pbuf, and in liblwip0
 * 2.1.3+dfsg1-2 a pool element is 616 bytes (memp_PBUF_POOL) while pbuf_alloc fills pool pbufs
 * up to 1536 octets (PBUF_POOL_BUFSIZE from the shipped lwipopts.h, TCP_MSS 1460), so any
 * frame longer than 592 octets overruns the heap (valgrind: an invalid write in pbuf_take
 * called from tapif's low_level_input) and the stack soon hangs. Frames here go into PBUF_RAM
 * pbufs of their exact size.
 *
 *   lwip-sut --tap cftap0 --ip 198.18.0.1/24 [--gateway 198.18.0.254] [--mac 02:00:00:00:01:01]
 *            [--tcp-listen PORT]... [--udp-bind PORT]... [--control]
 *
 * --tcp-listen: a TCP listener that accepts every connection, reads and discards what comes,
 *   and closes its end when the peer does (a discard service).
 * --udp-bind: a UDP socket bound to the port that reads and discards what comes.
 * --control: read one command per line on stdin and answer each on stdout (sut/lwip/run.py
 *   turns the suite's agent protocol into these). The commands drive lwIP's sockets API:
 *
 *   socket tcp|udp                      -> ok FD
 *   bind FD IP PORT                     -> ok
 *   listen FD BACKLOG                   -> ok
 *   connect FD IP PORT NONBLOCK         -> ok                 (NONBLOCK 1: returns in SYN-SENT)
 *   accept FD TIMEOUT_MS                -> ok FD PEERIP PEERPORT
 *   recv FD SIZE TIMEOUT_MS FLAGS       -> ok HEX IP PORT     (HEX "-": no data, the end of a stream;
 *                                                              TIMEOUT_MS 0: only what is there now)
 *   send FD HEX FLAGS                   -> ok SENT
 *   sendto FD HEX IP PORT FLAGS         -> ok SENT
 *   shutdown FD HOW                     -> ok                 (HOW: 0 read, 1 write, 2 both)
 *   setsockopt FD LEVEL NAME HEX        -> ok                 (the option's bytes, as setsockopt takes them)
 *   getsockopt FD LEVEL NAME SIZE       -> ok HEX
 *   sockname FD / peername FD           -> ok IP PORT
 *   close FD                            -> ok
 *   abortall                            -> ok N               (abort every TCP connection: an RST for
 *                                                              each open one, TIME-WAIT ones dropped)
 *   arpflush                            -> ok                 (forget every learned ARP entry)
 *
 *   Failures answer "err ERRNO text" (ERRNO as Linux numbers it: lwIP uses the system's errno
 *   values here) or "timeout". Waits use lwip_poll, so a command never blocks past its timeout.
 *
 * Socket options and message flags are numbered as on Linux: this lwIP was built against the
 * system's <sys/socket.h> (LWIP_SOCKET_EXTERNAL_HEADERS in Debian's lwipopts.h).
 *
 * On the wire by itself: one gratuitous ARP request when the interface comes up (etharp.c
 * etharp_gratuitous, from netif_set_up); no DHCP, no AutoIP, no IPv6 (no IPv6 address is
 * configured, so neither router solicitations nor MLD reports are sent).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwip/opt.h"
#include "lwip/init.h"
#include "lwip/tcpip.h"
#include "lwip/netif.h"
#include "lwip/sockets.h"
#include "lwip/ip4_addr.h"
#include "lwip/etharp.h"
#include "lwip/priv/tcp_priv.h" /* tcp_active_pcbs, tcp_tw_pcbs: the agent's reset aborts them */
#include "lwip/igmp.h"
#include "netif/ethernet.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

#define MAX_SERVICES 8
#define LINE_MAX_LEN 200000 /* a hex-encoded send of 64 KiB, plus the command */

static struct netif tap_netif;
static sem_t tcpip_ready;

static void die(const char *what)
{
    fprintf(stderr, "lwip-sut: %s\n", what);
    exit(2);
}

static int tap_fd = -1;

/* lwIP hands a complete frame (LWIP_NETIF_TX_SINGLE_PBUF) to the TAP. */
static err_t tap_linkoutput(struct netif *netif, struct pbuf *p)
{
    unsigned char frame[1518];
    (void)netif;
    if (p->tot_len > sizeof(frame))
        return ERR_IF;
    pbuf_copy_partial(p, frame, p->tot_len, 0);
    return write(tap_fd, frame, p->tot_len) == (ssize_t)p->tot_len ? ERR_OK : ERR_IF;
}

static err_t tap_netif_init(struct netif *netif)
{
    netif->name[0] = 't';
    netif->name[1] = 'p';
    netif->output = etharp_output;
    netif->linkoutput = tap_linkoutput;
    netif->mtu = 1500;
    netif->hwaddr_len = 6;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP;
    return ERR_OK;
}

/* Every frame from the TAP that the NIC would take in, in a pbuf of its own size, to the tcpip
 * thread. lwIP leaves address recognition to the NIC (netif/ethernet.c ethernet_input accepts any
 * destination), and a TAP delivers every frame put on it, so this driver does what an Ethernet
 * NIC does in hardware: it takes in frames to its own MAC and group (broadcast and multicast)
 * frames, all of them (as a NIC with its multicast filter open: lwIP's IP layer drops datagrams
 * for groups it has not joined), and nothing addressed to another station. */
static void *tap_reader(void *arg)
{
    struct netif *netif = arg;
    unsigned char frame[65536];
    for (;;) {
        ssize_t len = read(tap_fd, frame, sizeof(frame));
        if (len < 0) {
            if (errno == EINTR)
                continue;
            die("reading the TAP failed");
        }
        if (len >= 6 && !(frame[0] & 1) && memcmp(frame, netif->hwaddr, 6) != 0)
            continue; /* another station's frame */
        struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
        if (p == NULL)
            continue; /* out of memory: the frame is lost, as on a busy NIC */
        pbuf_take(p, frame, (u16_t)len);
        if (netif->input(p, netif) != ERR_OK)
            pbuf_free(p);
    }
    return NULL;
}

static void open_tap(const char *name)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    tap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (tap_fd < 0 || ioctl(tap_fd, TUNSETIFF, &ifr) < 0)
        die("cannot attach to the TAP (it must exist in this namespace)");
}

static void on_tcpip_ready(void *arg)
{
    (void)arg;
    sem_post(&tcpip_ready);
}

static int parse_mac(const char *text, u8_t mac[6])
{
    unsigned int b[6];
    if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = (u8_t)b[i];
    return 0;
}

/* Bring the TAP up as lwIP's only (and default) interface. */
static void bring_up(const char *tap, const char *cidr, const char *gateway, const u8_t mac[6])
{
    char addr[32];
    const char *slash = strchr(cidr, '/');
    int prefix = slash ? atoi(slash + 1) : 24;
    ip4_addr_t ip, mask, gw;

    if (!slash || (size_t)(slash - cidr) >= sizeof(addr) || prefix < 1 || prefix > 30)
        die("--ip wants ADDRESS/PREFIXLEN, e.g. 198.18.0.1/24");
    memcpy(addr, cidr, (size_t)(slash - cidr));
    addr[slash - cidr] = '\0';
    if (!ip4addr_aton(addr, &ip))
        die("--ip: not an IPv4 address");
    ip4_addr_set_u32(&mask, lwip_htonl(0xffffffffu << (32 - prefix)));
    ip4_addr_set_zero(&gw);
    if (gateway && !ip4addr_aton(gateway, &gw))
        die("--gateway: not an IPv4 address");

    open_tap(tap);
    sem_init(&tcpip_ready, 0, 0);
    tcpip_init(on_tcpip_ready, NULL);
    sem_wait(&tcpip_ready);

    LOCK_TCPIP_CORE();
    if (!netif_add(&tap_netif, &ip, &mask, &gw, NULL, tap_netif_init, tcpip_input))
        die("netif_add failed");
    memcpy(tap_netif.hwaddr, mac, 6);
    netif_set_default(&tap_netif);
    netif_set_link_up(&tap_netif);
    netif_set_up(&tap_netif); /* sends the gratuitous ARP */
    UNLOCK_TCPIP_CORE();
    pthread_t reader;
    pthread_create(&reader, NULL, tap_reader, &tap_netif);
}

/* ---- the fixed services: a TCP discard listener and a bound UDP socket ---- */

static void *tcp_discard(void *arg)
{
    int port = (int)(long)arg;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((u16_t)port)};
    int one = 1;
    int s = lwip_socket(AF_INET, SOCK_STREAM, 0);
    char buf[2048];

    lwip_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lwip_bind(s, (struct sockaddr *)&sin, sizeof(sin)) < 0 || lwip_listen(s, 8) < 0)
        die("--tcp-listen: bind/listen failed");
    for (;;) {
        struct pollfd fds[64];
        int n = 1;
        fds[0].fd = s;
        fds[0].events = POLLIN;
        /* one poll over the listener and every open connection */
        static int conns[63];
        static int nconns;
        for (int i = 0; i < nconns; i++) {
            fds[n].fd = conns[i];
            fds[n].events = POLLIN;
            n++;
        }
        if (lwip_poll(fds, (nfds_t)n, -1) <= 0)
            continue;
        if ((fds[0].revents & POLLIN) && nconns < 63) {
            int c = lwip_accept(s, NULL, NULL);
            if (c >= 0)
                conns[nconns++] = c;
        }
        for (int i = n - 1; i >= 1; i--) {
            if (!fds[i].revents)
                continue;
            if (lwip_recv(fds[i].fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0 && errno != EWOULDBLOCK) {
                lwip_close(fds[i].fd);
                conns[i - 1] = conns[--nconns];
            }
        }
    }
    return NULL;
}

static void *udp_discard(void *arg)
{
    int port = (int)(long)arg;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((u16_t)port)};
    int s = lwip_socket(AF_INET, SOCK_DGRAM, 0);
    char buf[2048];

    if (lwip_bind(s, (struct sockaddr *)&sin, sizeof(sin)) < 0)
        die("--udp-bind: bind failed");
    for (;;)
        lwip_recv(s, buf, sizeof(buf), 0);
    return NULL;
}

/* ---- the control channel ---- */

static char *hex_encode(const unsigned char *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = malloc(len * 2 + 2);
    if (!out)
        die("out of memory");
    if (len == 0) {
        strcpy(out, "-");
        return out;
    }
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
    return out;
}

static size_t hex_decode(const char *text, unsigned char *out)
{
    size_t n = 0;
    if (strcmp(text, "-") == 0)
        return 0;
    for (; text[0] && text[1]; text += 2) {
        unsigned int b;
        if (sscanf(text, "%2x", &b) != 1)
            break;
        out[n++] = (unsigned char)b;
    }
    return n;
}

static int parse_addr(const char *ip, const char *port, struct sockaddr_in *sin)
{
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port = htons((u16_t)atoi(port));
    return inet_pton(AF_INET, ip, &sin->sin_addr) == 1 ? 0 : -1;
}

static void answer_err(void)
{
    int e = errno;
    printf("err %d %s\n", e, strerror(e));
}

static void answer_addr(const char *prefix, int fd, int peer)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    char ip[INET_ADDRSTRLEN];
    int rc = peer ? lwip_getpeername(fd, (struct sockaddr *)&sin, &len)
                  : lwip_getsockname(fd, (struct sockaddr *)&sin, &len);
    if (rc < 0) {
        answer_err();
        return;
    }
    inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip));
    printf("%s%s %d\n", prefix, ip, ntohs(sin.sin_port));
}

/* Wait until fd is readable (or has an error); 0 on timeout. */
static int wait_readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return lwip_poll(&p, 1, timeout_ms);
}

static void answer_ok_or_err(int rc)
{
    if (rc < 0)
        answer_err();
    else
        printf("ok\n");
}

static void run_command(char **w, int n)
{
    static unsigned char buf[65536];
    struct sockaddr_in sin;
    char prefix[32];
    int fd;

#define NEED(k) do { if (n < (k)) { printf("err %d missing arguments\n", EINVAL); return; } } while (0)
#define ADDR(i) do { if (parse_addr(w[i], w[(i) + 1], &sin) < 0) { printf("err %d bad address\n", EINVAL); return; } } while (0)
    if (strcmp(w[0], "socket") == 0) {
        NEED(2);
        fd = lwip_socket(AF_INET, strcmp(w[1], "tcp") == 0 ? SOCK_STREAM : SOCK_DGRAM, 0);
        if (fd < 0)
            answer_err();
        else
            printf("ok %d\n", fd);
        return;
    }
    if (strcmp(w[0], "abortall") == 0) {
        /* What the agent's reset needs and lwIP's sockets API cannot do: SO_LINGER 0 aborts
         * only a connection with unsent or unacknowledged data (api_msg.c
         * lwip_netconn_do_close_internal), and a connection the application already closed
         * has no socket left. tcp_abort() sends the RST and tells the socket (ERR_ABRT). */
        int aborted = 0;
        LOCK_TCPIP_CORE();
        while (tcp_active_pcbs != NULL) {
            tcp_abort(tcp_active_pcbs);
            aborted++;
        }
        while (tcp_tw_pcbs != NULL) {
            tcp_abort(tcp_tw_pcbs);
            aborted++;
        }
        UNLOCK_TCPIP_CORE();
        printf("ok %d\n", aborted);
        return;
    }
    if (strcmp(w[0], "arpflush") == 0) {
        LOCK_TCPIP_CORE();
        etharp_cleanup_netif(&tap_netif);
        UNLOCK_TCPIP_CORE();
        printf("ok\n");
        return;
    }
    NEED(2);
    fd = atoi(w[1]);
    if (strcmp(w[0], "bind") == 0) {
        NEED(4);
        ADDR(2);
        answer_ok_or_err(lwip_bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
    } else if (strcmp(w[0], "listen") == 0) {
        NEED(3);
        answer_ok_or_err(lwip_listen(fd, atoi(w[2])));
    } else if (strcmp(w[0], "connect") == 0) {
        int nonblocking = n > 4 && atoi(w[4]);
        NEED(4);
        ADDR(2);
        if (nonblocking)
            lwip_fcntl(fd, F_SETFL, O_NONBLOCK);
        int rc = lwip_connect(fd, (struct sockaddr *)&sin, sizeof(sin));
        int e = errno;
        if (nonblocking)
            lwip_fcntl(fd, F_SETFL, 0);
        errno = e;
        answer_ok_or_err(rc < 0 && !(nonblocking && e == EINPROGRESS) ? -1 : 0);
    } else if (strcmp(w[0], "accept") == 0) {
        NEED(3);
        if (wait_readable(fd, atoi(w[2])) == 0) {
            printf("timeout\n");
            return;
        }
        int c = lwip_accept(fd, NULL, NULL);
        if (c < 0) {
            answer_err();
            return;
        }
        snprintf(prefix, sizeof(prefix), "ok %d ", c);
        answer_addr(prefix, c, 1);
    } else if (strcmp(w[0], "recv") == 0) {
        /* recv FD SIZE TIMEOUT_MS FLAGS: TIMEOUT_MS 0 reads only what is there now */
        NEED(5);
        size_t size = (size_t)atol(w[2]);
        int wait_ms = atoi(w[3]);
        socklen_t len = sizeof(sin);
        char ip[INET_ADDRSTRLEN];
        if (size > sizeof(buf))
            size = sizeof(buf);
        if (wait_ms > 0 && wait_readable(fd, wait_ms) == 0) {
            printf("timeout\n");
            return;
        }
        memset(&sin, 0, sizeof(sin));
        ssize_t got = lwip_recvfrom(fd, buf, size, atoi(w[4]) | (wait_ms > 0 ? 0 : MSG_DONTWAIT),
                                    (struct sockaddr *)&sin, &len);
        if (got < 0) {
            if (errno == EWOULDBLOCK && wait_ms <= 0)
                printf("timeout\n");
            else
                answer_err();
            return;
        }
        char *hex = hex_encode(buf, (size_t)got);
        inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip));
        printf("ok %s %s %d\n", hex, ip, ntohs(sin.sin_port));
        free(hex);
    } else if (strcmp(w[0], "send") == 0 || strcmp(w[0], "sendto") == 0) {
        ssize_t sent;
        NEED(4);
        size_t len = hex_decode(w[2], buf);
        if (w[0][4] == 't') {
            NEED(6);
            ADDR(3);
            sent = lwip_sendto(fd, buf, len, atoi(w[5]), (struct sockaddr *)&sin, sizeof(sin));
        } else {
            sent = lwip_send(fd, buf, len, atoi(w[3]));
        }
        if (sent < 0)
            answer_err();
        else
            printf("ok %zd\n", sent);
    } else if (strcmp(w[0], "shutdown") == 0) {
        NEED(3);
        answer_ok_or_err(lwip_shutdown(fd, atoi(w[2])));
    } else if (strcmp(w[0], "setsockopt") == 0) {
        /* setsockopt FD LEVEL NAME HEX: the option's bytes as the API takes them */
        NEED(5);
        size_t len = hex_decode(w[4], buf);
        answer_ok_or_err(lwip_setsockopt(fd, atoi(w[2]), atoi(w[3]), buf, (socklen_t)len));
    } else if (strcmp(w[0], "getsockopt") == 0) {
        /* getsockopt FD LEVEL NAME SIZE -> ok HEX */
        NEED(5);
        socklen_t len = (socklen_t)atoi(w[4]);
        if (len > 256)
            len = 256;
        memset(buf, 0, len);
        if (lwip_getsockopt(fd, atoi(w[2]), atoi(w[3]), buf, &len) < 0) {
            answer_err();
            return;
        }
        char *hex = hex_encode(buf, len);
        printf("ok %s\n", hex);
        free(hex);
    } else if (strcmp(w[0], "sockname") == 0 || strcmp(w[0], "peername") == 0) {
        answer_addr("ok ", fd, w[0][0] == 'p');
    } else if (strcmp(w[0], "close") == 0) {
        answer_ok_or_err(lwip_close(fd));
    } else {
        printf("err %d unknown command %s\n", ENOSYS, w[0]);
    }
#undef NEED
#undef ADDR
}

static void control_loop(void)
{
    char *line = malloc(LINE_MAX_LEN);
    if (!line)
        die("out of memory");
    lwip_socket_thread_init();
    while (fgets(line, LINE_MAX_LEN, stdin)) {
        char *words[8];
        int n = 0;
        for (char *tok = strtok(line, " \r\n"); tok && n < 8; tok = strtok(NULL, " \r\n"))
            words[n++] = tok;
        if (n > 0)
            run_command(words, n);
        fflush(stdout);
    }
    free(line);
}

int main(int argc, char **argv)
{
    const char *tap = NULL, *ip = NULL, *gateway = NULL;
    u8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x01}; /* the lan topology's SUT MAC */
    long tcp_ports[MAX_SERVICES], udp_ports[MAX_SERVICES];
    int ntcp = 0, nudp = 0, control = 0;

    for (int i = 1; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--control") == 0) {
            control = 1;
            continue;
        }
        if (!next)
            die("every option but --control takes a value");
        if (strcmp(argv[i], "--tap") == 0)
            tap = next;
        else if (strcmp(argv[i], "--ip") == 0)
            ip = next;
        else if (strcmp(argv[i], "--gateway") == 0)
            gateway = next;
        else if (strcmp(argv[i], "--mac") == 0) {
            if (parse_mac(next, mac) < 0 || (mac[0] & 1))
                die("--mac: not a unicast MAC address");
        } else if (strcmp(argv[i], "--tcp-listen") == 0 && ntcp < MAX_SERVICES)
            tcp_ports[ntcp++] = atol(next);
        else if (strcmp(argv[i], "--udp-bind") == 0 && nudp < MAX_SERVICES)
            udp_ports[nudp++] = atol(next);
        else
            die("usage: lwip-sut --tap NAME --ip ADDR/LEN [--gateway ADDR] [--mac MAC] "
                "[--tcp-listen PORT]... [--udp-bind PORT]... [--control]");
        i++;
    }
    if (!tap || !ip)
        die("--tap and --ip are required");

    bring_up(tap, ip, gateway, mac);
    fprintf(stderr, "lwip-sut: lwIP %s up on %s as %s\n", LWIP_VERSION_STRING, tap, ip);
    for (int i = 0; i < ntcp; i++) {
        pthread_t t;
        pthread_create(&t, NULL, tcp_discard, (void *)tcp_ports[i]);
    }
    for (int i = 0; i < nudp; i++) {
        pthread_t t;
        pthread_create(&t, NULL, udp_discard, (void *)udp_ports[i]);
    }
    if (control)
        control_loop(); /* ends when the controller closes stdin */
    else
        for (;;)
            pause();
    return 0;
}
