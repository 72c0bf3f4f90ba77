// When `mlserver session` waits for more lines before running what was typed.
import { expect, it } from "vitest";
import { needsMore } from "../../src/cli/commands/session.js";

it(
  "waits while a bracket or string is open, a line ends with \\, or a Python block has not ended with an empty " +
    "line",
  () => {
    expect(needsMore("x = 1", "Python")).toBe(false);
    expect(needsMore("print(f(1,", "Python")).toBe(true);
    expect(needsMore("s = 'a (", "Python")).toBe(true);
    expect(needsMore("s = 'a (' + \"b [\"", "Python")).toBe(false);
    expect(needsMore("x = 1 + \\", "Python")).toBe(true);
    expect(needsMore("y = 2  # a comment with a ( in it", "Python")).toBe(false);
    expect(needsMore("for i in range(3):", "Python")).toBe(true);
    expect(needsMore("for i in range(3):\n    print(i)", "Python")).toBe(true);
    expect(needsMore("for i in range(3):\n    print(i)\n", "Python")).toBe(false);
    expect(needsMore("f <- function(x) {", "R")).toBe(true);
    expect(needsMore("f <- function(x) {\n  x * 2\n}", "R")).toBe(false);
    expect(needsMore("d <- list(a = 'x:'", "R")).toBe(true);
    expect(needsMore("label <- 'ratio:'", "R")).toBe(false);
  },
);
