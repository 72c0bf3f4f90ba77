import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { describeWithProgram, REDIS, startRedis } from "../support/daemons.js";
import { resolvePython } from "../../devserver/python.js";
import { TEST_PYTHON } from "../support/python.js";
import { rMissing, TEST_R } from "../support/r.js";

const run = promisify(execFile);

it("npm start (the quickstart on the embedded dev server) prints every step and succeeds", async () => {
  const { stdout } = await run("npm", ["start", "--silent"], {
    env: { ...process.env, FORCE_COLOR: "0" },
    timeout: 60_000,
  });
  const lines = stdout
    .trim()
    .split("\n")
    .filter((l) => /^\d\. /.test(l));
  expect(lines).toHaveLength(9);
  expect(lines[0]).toMatch(/^1\. Dev server running at http:\/\/127\.0\.0\.1:\d+/);
  expect(lines[1]).toMatch(/^2\. Signed in as admin: access token #[0-9a-f]{8}/);
  expect(lines[2]).toBe('3. GET /status → 200, statusCode "pass"');
  expect(lines[3]).toMatch(
    /^4\. Published add-one 1\.0 → 201, consume at http:\/\/127\.0\.0\.1:\d+\/api\/add-one\/1\.0$/,
  );
  expect(lines[4]).toBe("5. GET /services → add-one 1.0 (read/write)");
  expect(lines[5]).toMatch(/^6\. .* answered 200: renewed [1-9]\d* time\(s\) behind the scenes /);
  expect(lines[5]).toMatch(/ \(#[0-9a-f]{8} → #[0-9a-f]{8}\), no error reached the caller$/);
  expect(lines[6]).toBe("7. Signed out: the refresh token was revoked on the server (revokes counted: 1)");
  expect(lines[7]).toBe("8. Replaying the old access token → HTTP 401: the server refuses it");
  expect(lines[8]).toBe("9. A call through the signed-out client is refused before sending (ERR_SIGNED_OUT)");
});

it("npm run example:snapshot publishes from a session's snapshot and scores with what the session fitted", async () => {
  const { stdout } = await run("npm", ["run", "example:snapshot", "--silent"], {
    env: { ...process.env, FORCE_COLOR: "0" },
    timeout: 60_000,
  });
  const lines = stdout.trim().split("\n");
  expect(lines[0]).toBe("1. Setup ran in a session: fitted on 4 rows: price = 2.939 * size + 4.065");
  expect(lines[1]).toMatch(/^2\. Snapshot taken, session closed \(open sessions: 0\), service published at /);
  expect(lines[1]).toMatch(/ at http:\/\/127\.0\.0\.1:\d+\/api\/house-price\/1\.0$/);
  expect(lines.slice(2, 4)).toEqual(["3. size 60 → price 180.42", "3. size 90 → price 268.6"]);
  expect(lines[4]).toBe("4. Deleted the service and its snapshot (snapshots left: 0), signed out");
});

it(
  "npm run example:sklearn trains in a session, scores a data frame from TypeScript and batches a CSV through " +
    "the CLI",
  async (context) => {
    const python = await resolvePython(TEST_PYTHON);
    if (
      !python.ok ||
      !(await run(TEST_PYTHON, ["-c", "import sklearn"]).then(
        () => true,
        () => false,
      ))
    )
      return context.skip(`${TEST_PYTHON} has no scikit-learn (apt-get install python3-sklearn)`);
    const { stdout } = await run("npm", ["run", "example:sklearn", "--silent"], {
      env: { ...process.env, FORCE_COLOR: "0", MLSERVER_PYTHON: TEST_PYTHON },
      timeout: 100_000,
    });
    expect(stdout.trim().split("\n")).toEqual([
      "1. trained on 8 loans, accuracy 1.00; snapshot taken, loan-model 1.0 published from it",
      "2. Scored a data frame: ada approved, bo declined, cy approved",
      "3. mlserver services batch loan-row 1.0 --file applicants.csv: 20 rows, 15 approved, 0 failed",
      "4. Deleted both services and the snapshot, signed out",
    ]);
  },
);

it.skipIf(rMissing)(
  "npm run example:r fits an lm in an R session, scores a data frame from TypeScript and batches a CSV through the CLI",
  async () => {
    const { stdout } = await run("npm", ["run", "example:r", "--silent"], {
      env: { ...process.env, FORCE_COLOR: "0", MLSERVER_R: TEST_R },
      timeout: 100_000,
    });
    // R's own lm on its cars data: dist = -17.579 + 3.932 * speed.
    expect(stdout.trim().split("\n")).toEqual([
      "1. fitted on 50 cars, R-squared 0.65; snapshot taken, stopping-distance 1.0 published from it",
      "2. Scored a data frame: 7 mph stops in 9.9 ft, 15 mph stops in 41.4 ft, 24 mph stops in 76.8 ft",
      "3. mlserver services batch stopping-row 1.0 --file speeds.csv: 20 rows, 7 stop beyond 50 ft, 0 failed",
      "4. Deleted both services and the snapshot, signed out",
    ]);
  },
);

describeWithProgram(REDIS, "npm run example:fleet", () => {
  it("runs a worker fleet that shares one token set through Redis: one sign-in, no failed call", async () => {
    const redis = await startRedis();
    try {
      const { stdout } = await run("npm", ["run", "example:fleet", "--silent"], {
        env: { ...process.env, REDIS_URL: redis.url, SECONDS: "5", WORKERS: "3" },
        timeout: 120_000,
      });
      const match =
        /^3 workers, 5 s, 2-second tokens: (\d+) calls succeeded, (\d+) failed; (\d+) sign-in and (\d+) renewals/m.exec(
          stdout,
        );
      expect(match, stdout).not.toBeNull();
      const [, ok, failed, logins, renewals] = match!.map(Number);
      expect(ok).toBeGreaterThan(50);
      expect(failed).toBe(0);
      expect(logins).toBe(1);
      expect(renewals).toBeGreaterThanOrEqual(1);
      expect(renewals).toBeLessThanOrEqual(6);
    } finally {
      await redis.stop();
    }
  }, 150_000);
});

it(
  "npm run example:first: sign in, publish, a typed call, then a wrong password and a missing service as typed " +
    "errors",
  async () => {
    const { stdout } = await run("npm", ["run", "example:first", "--silent"], {
      env: { ...process.env, FORCE_COLOR: "0" },
      timeout: 60_000,
    });
    expect(stdout.trim().split("\n")).toEqual([
      "1. Published double 1.0 and called it: x 21 → y 42",
      "2. A wrong password: ERR_AUTHENTICATION_FAILED",
      "3. A service that is not there: ERR_NOT_FOUND, Calling triple/1.0 failed with HTTP 404",
      "4. Deleted the service, signed out",
    ]);
  },
);

it(
  "npm run example:cron: three runs in three processes sign in once; with the server down the job exits 6 " +
    "saying so",
  async () => {
    const { stdout } = await run("npm", ["run", "example:cron", "--silent"], {
      env: { ...process.env, FORCE_COLOR: "0" },
      timeout: 90_000,
    });
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^1\. Three runs, three processes: 1 sign-in, \d+ requests$/);
    expect(lines[1]).toBe('2. With the server down: exit 6, "the server did not answer"');
  },
);

it("npm run example:batch: a 100-row batch cancelled halfway stops on the server too", async () => {
  const { stdout } = await run("npm", ["run", "example:batch", "--silent"], {
    env: { ...process.env, FORCE_COLOR: "0" },
    timeout: 90_000,
  });
  const lines = stdout.trim().split("\n");
  const at = /^1\. Batch of 100 rows stopped \(halfway\) at (\d+) of 100 rows$/.exec(lines[0]!);
  expect(at, lines[0]).not.toBeNull();
  expect(Number(at![1])).toBeGreaterThanOrEqual(50);
  expect(Number(at![1])).toBeLessThan(100);
  expect(lines.slice(1)).toEqual([
    "2. Cancelled on the server too: no longer listed (0 batches left)",
    "3. Deleted the service, signed out",
  ]);
});

it.skipIf(rMissing)(
  "npm run example:remote-r: an R script's file comes back; one that fails early reports its own error and the " +
    "file it did not write",
  async () => {
    const { stdout } = await run("npm", ["run", "example:remote-r", "--silent"], {
      env: { ...process.env, FORCE_COLOR: "0", MLSERVER_R: TEST_R },
      timeout: 90_000,
    });
    expect(stdout.trim().split("\n")).toEqual([
      '1. The script printed "fitted" and wrote coef.txt: -17.579, 3.932',
      '2. A script that failed early: ERR_REMOTE_EXECUTION_FAILED, "Error: early failure", missing out.txt',
      "3. Signed out; sessions left open: 0",
    ]);
  },
);
