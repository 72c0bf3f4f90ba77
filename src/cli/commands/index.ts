/**
 * Every command of `mlserver`, in the order `mlserver --help` lists them. A new command is a file
 * in this folder (one `defineCommand` declaration) and a line here: help, completion, did-you-mean
 * and flag parsing come from the declaration.
 */
import type { Command } from "../command.js";
import { completion } from "./completion.js";
import { devserver } from "./devserver.js";
import { generate } from "./generate.js";
import { generateAll } from "./generate-all.js";
import { login } from "./login.js";
import { logout } from "./logout.js";
import { pools } from "./pools.js";
import { profiles } from "./profiles.js";
import { run } from "./run.js";
import { services } from "./services.js";
import { session } from "./session.js";
import { status } from "./status.js";
import { token } from "./token.js";

export const COMMANDS: readonly Command[] = [
  login,
  logout,
  token,
  run,
  session,
  pools,
  completion,
  profiles,
  status,
  services,
  generate,
  generateAll,
  devserver,
];
