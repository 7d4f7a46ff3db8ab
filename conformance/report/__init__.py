"""Results of a run and the files made from them (results.json, HTML, JUnit, diff, baseline)."""
