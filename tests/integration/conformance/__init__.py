"""OCPP 2.0.1 Part 6 CSMS test cases (TC_*_CSMS), one test per case, named after its id."""
