// Bull 3 (the release line before 4; installed as "bull-v3") driven by the workload of bull.js.
//
// Usage: node bull-v3.js HOST:PORT [all|before|after], as bull.js.
"use strict";

process.env.APP_BULL_MODULE = "bull-v3";
require("./bull.js");
