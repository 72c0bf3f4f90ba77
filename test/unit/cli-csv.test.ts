import { describe, expect, it } from "vitest";
import { csvInputs, parseCsv } from "../../src/cli/csv.js";

describe("CSV batch inputs (RFC 4180)", () => {
  it("reads quoted fields with commas, doubled quotes and line breaks, CRLF or LF, and a BOM", () => {
    expect(parseCsv('\uFEFFa,b\r\n"x, y","say ""hi"""\n"two\nlines",3\n')).toEqual([
      ["a", "b"],
      ["x, y", 'say "hi"'],
      ["two\nlines", "3"],
    ]);
    expect(parseCsv("a\n\n1\n")).toEqual([["a"], ["1"]]);
    expect(parseCsv("a,b\n1,")).toEqual([
      ["a", "b"],
      ["1", ""],
    ]);
  });

  it("names the line of a malformed quote", () => {
    expect(() => parseCsv('a\n"open')).toThrow(/line 2: a quoted field is not closed/);
    expect(() => parseCsv('a\nx"y"')).toThrow(/line 2: a quote may only start a field/);
    expect(() => parseCsv('a\n"x"y')).toThrow(/line 2: a closing quote must end its field/);
  });

  it("converts values by the service's declared input types, and names the row and input of a bad one", () => {
    const rows = parseCsv("x,n,ok,name\n1.5,2,TRUE,alice\n-3e2,0,f,bob\n");
    expect(csvInputs(rows, { x: "numeric", n: "integer", ok: "logical", name: "character" })).toEqual([
      { x: 1.5, n: 2, ok: true, name: "alice" },
      { x: -300, n: 0, ok: false, name: "bob" },
    ]);
    expect(() => csvInputs(parseCsv("x\nabc\n"), { x: "numeric" })).toThrow(/^CSV row 1 \(line 2\): x is numeric/);
    expect(() => csvInputs(parseCsv("n\n1.5\n"), { n: "integer" })).toThrow(/CSV row 1 \(line 2\): n is integer/);
    expect(csvInputs(parseCsv("x\n\n"), { x: "numeric" })).toEqual([]);
    expect(() => csvInputs([], { x: "numeric" })).toThrow(/empty: it needs a header row/);
    expect(() => csvInputs(parseCsv("x,y\n1\n"), { x: "numeric", y: "numeric" })).toThrow(
      /CSV row 1 \(line 2\) has 1 fields; the header has 2/,
    );
    expect(() => csvInputs(parseCsv("z\n1\n"), { x: "numeric" })).toThrow(/names "z", which the service does not take/);
    expect(() => csvInputs(parseCsv("x\n1\n"), { x: "numeric", y: "numeric" })).toThrow(
      /lacks the service's input "y"; add that column/,
    );
  });
});
