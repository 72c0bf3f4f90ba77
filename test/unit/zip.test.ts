// The dev server's zip archives (R snapshots): read back what was written, and refuse damaged or
// oversized archives with a clear error rather than a crash or unbounded memory.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { unzip, zip } from "../../devserver/zip.js";
import { TEST_PYTHON } from "../support/python.js";

const entries = [
  { name: "workspace.RData", data: Buffer.alloc(50_000, 7) },
  { name: "files/données.csv", data: Buffer.from("a,b\n1,2\n") },
  { name: "files/empty", data: Buffer.alloc(0) },
];

describe("zip archives", () => {
  it("round-trips entries, and Python's zipfile reads them with valid checksums", () => {
    const archive = zip(entries);
    expect(unzip(archive, 1e6)).toEqual(entries);
    const read = spawnSync(
      TEST_PYTHON,
      [
        "-c",
        "import io, sys, json, zipfile; z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())); assert " +
          "z.testzip() is None; print(json.dumps([[i.filename, i.file_size] for i in z.infolist()]))",
      ],
      { input: archive, encoding: "utf8" },
    );
    expect(JSON.parse(read.stdout)).toEqual(entries.map((e) => [e.name, e.data.length]));
  });

  it("refuses a truncated or damaged archive, and one that unpacks past the bound", () => {
    const archive = zip(entries);
    expect(() => unzip(archive.subarray(0, archive.length - 30), 1e6)).toThrow(
      /not a zip archive this dev server wrote/,
    );
    const damaged = Buffer.from(archive);
    damaged.writeUInt8(damaged.readUInt8(60) ^ 0xff, 60); // inside the first entry's data
    expect(() => unzip(damaged, 1e6)).toThrow();
    expect(() => unzip(archive, 1000)).toThrow(/unpacks to more than 1000 bytes/);
    // An entry that claims to be small but inflates to more is cut off by zlib, not held in memory.
    const bomb = zip([{ name: "x", data: Buffer.alloc(10_000_000) }]);
    const directory = bomb.readUInt32LE(bomb.length - 22 + 16);
    bomb.writeUInt32LE(10, directory + 24); // the central directory's unpacked size
    expect(() => unzip(bomb, 1e6)).toThrow(/Cannot create a Buffer larger than|buffer/i);
    expect(() => unzip(Buffer.from("PK\u0005\u0006"), 1e6)).toThrow(/no end of central directory/);
  });
});
