/**
 * The Python the dev server runs in tests: Debian's, which `.ci/run` gives pandas, numpy, dill and
 * scikit-learn (`MLSERVER_TEST_PYTHON` picks another).
 */
import { existsSync } from "node:fs";

export const TEST_PYTHON =
  process.env.MLSERVER_TEST_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
