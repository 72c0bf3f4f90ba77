/**
 * The R program of a kernel (see `Kernel`): ML Server's R runtime as the dev server runs it. User
 * code runs in the global environment, each top-level value printed as R's console prints it;
 * inputs are bound with ML Server's R types (`numeric`, `integer`, `logical`, `character`, `vector`,
 * `matrix`, `data.frame`, `NA` for null) and outputs sent back in the same JSON forms; workspace
 * objects are R serialisations (what mrsdeploy's `putLocalObject` and `getRemoteObject` move); a
 * workspace is saved and loaded as `.RData` (the dev server packs snapshots, see `engines.ts`).
 *
 * Why it is built this way:
 * - R cannot open the socket Node gives it as fd 3, so a helper (`cat`) copies replies there; a
 *   watchdog (`tail --pid`) kills the kernel's process group when the dev server is gone, as the
 *   Python kernel's watcher thread does. Both carry MLSERVER_KERNEL_HELPER in their environment,
 *   so the reaping after a service run (every other process of the group is killed) spares them,
 *   and both ignore SIGINT, which is for user code alone.
 * - Everything but user code runs with interrupts suspended, so a cancel can only stop user code;
 *   `quit()` and `q()` are masked, so user code cannot end the kernel by accident.
 */
import { Kernel } from "./kernel.js";

const KERNEL = String.raw`local({
  options(warn = 1, keep.source = FALSE, useFancyQuotes = FALSE)
  helper <- "MLSERVER_KERNEL_HELPER=1"
  parent <- Sys.getenv("MLSERVER_DEVSERVER_PID")
  Sys.unsetenv(c("MLSERVER_R_KERNEL", "MLSERVER_DEVSERVER_PID"))
  replies <- pipe(sprintf("trap '' INT; %s exec cat >&3", helper), open = "w")
  if (nzchar(parent)) {
    watch <- "(trap '' INT; export %s; tail -s 0.25 --pid=%s -f /dev/null; kill -9 0)"
    system(sprintf(watch, helper, parent), wait = FALSE)
  }
  input <- file("stdin", open = "r")

  masks <- attach(NULL, name = "mlserver:kernel", warn.conflicts = FALSE)
  assign("quit", function(save = "default", status = 0, runLast = TRUE) {
    stop(structure(class = c("mlserver_quit", "condition"), list(message = "quit", call = NULL, status = status)))
  }, envir = masks)
  assign("q", get("quit", envir = masks), envir = masks)

  json_string <- function(text) as.character(jsonlite::toJSON(enc2utf8(as.character(text)), auto_unbox = TRUE))
  failure <- function(message) sprintf('{"success":false,"errorMessage":%s}', json_string(message))
  ok <- function(...) {
    extra <- c(...)
    paste0('{"success":true', if (length(extra)) paste0(",", paste(extra, collapse = ",")) else "", "}")
  }
  user_names <- function() ls(globalenv())
  all_names <- function() ls(globalenv(), all.names = TRUE)
  clear <- function() rm(list = all_names(), envir = globalenv())

  why <- function(e) {
    if (inherits(e, "mlserver_quit")) return(sprintf("the code called quit(status = %s)", format(e$status)))
    if (inherits(e, "interrupt")) return("the run was interrupted")
    paste0("Error", origin(e), ": ", conditionMessage(e))
  }

  # Where a condition came from, as R's console says it: nothing for the code's own top level.
  origin <- function(condition) {
    call <- conditionCall(condition)
    ours <- is.null(call) || identical(call[[1]], quote(eval)) || identical(call[[1]], quote(parse))
    if (ours) "" else paste0(" in ", deparse(call, nlines = 1L)[1])
  }

  run_code <- function(code) {
    exprs <- parse(text = code, keep.source = FALSE)
    warned <- function(w) {
      message("Warning", origin(w), ": ", conditionMessage(w))
      invokeRestart("muffleWarning")
    }
    allowInterrupts(withCallingHandlers(for (expr in exprs) {
      shown <- withVisible(eval(expr, globalenv()))
      if (shown$visible) print(shown$value)
    }, warning = warned))
  }

  # NULL when the code ran; otherwise why it did not.
  attempt <- function(code) tryCatch({
    run_code(code)
    NULL
  }, error = why, interrupt = why, mlserver_quit = why)

  # ML Server's R types, bound from their JSON forms; null is NA.
  bind <- function(value, type) {
    if (is.null(value)) return(NA)
    json <- jsonlite::toJSON(value, auto_unbox = TRUE, null = "null", digits = NA)
    v <- jsonlite::fromJSON(json, simplifyVector = TRUE)
    if (is.null(v)) return(NA)
    if (is.null(type)) return(v)
    switch(type,
      numeric = as.numeric(v), integer = as.integer(v), logical = as.logical(v), character = as.character(v),
      vector = if (is.list(v)) unlist(v) else as.vector(v),
      matrix = if (is.matrix(v)) v else as.matrix(v),
      data.frame = if (is.data.frame(v)) v else as.data.frame(v, stringsAsFactors = FALSE, check.names = FALSE),
      v)
  }

  nonfinite <- function(x) {
    if (is.list(x)) return(any(vapply(x, nonfinite, logical(1))))
    is.numeric(x) && any(is.nan(x) | is.infinite(x))
  }

  # Outputs in the same JSON forms: a data frame as columns, a matrix as rows, NA as null.
  output_json <- function(name, value, type) {
    problem <- function(reason) {
      list(failure = failure(sprintf("output parameter '%s' cannot be sent as JSON: %s", name, reason)))
    }
    if (nonfinite(value)) return(problem("NaN and infinity have no JSON form"))
    tryCatch({
      json <- if (is.data.frame(value)) {
        jsonlite::toJSON(value, dataframe = "columns", na = "null", digits = NA)
      } else if (is.matrix(value)) {
        jsonlite::toJSON(unname(value), matrix = "rowmajor", na = "null", digits = NA)
      } else if (identical(type, "vector")) {
        jsonlite::toJSON(unname(as.vector(value)), na = "null", digits = NA)
      } else {
        jsonlite::toJSON(value, auto_unbox = TRUE, na = "null", null = "null", digits = NA, dataframe = "columns")
      }
      list(json = as.character(json))
    }, error = function(e) problem(conditionMessage(e)))
  }

  checkpoint <- NULL

  # A warm shell outlives its requests, but nothing a request started may: after the run (once its
  # reply is sent, and before the next command is read), every other process of the shell's group
  # is killed, save the kernel's own helpers.
  # Reading a process's stat costs R about 80 us, so only processes newer than the last reap are
  # read: those the run may have started (the newest pid is the last field of /proc/loadavg; when
  # pids wrap around, every process is read again). Older ones were read, and killed, before.
  newest_pid <- function() as.integer(sub("^.* ", "", readLines("/proc/loadavg", n = 1L, warn = FALSE)))
  reaped_up_to <- 0L
  reap_due <- FALSE
  reap <- function() {
    me <- Sys.getpid()
    newest <- newest_pid()
    pids <- suppressWarnings(as.integer(list.files("/proc", pattern = "^[0-9]+$")))
    if (!is.na(newest) && newest >= reaped_up_to) pids <- pids[pids > reaped_up_to]
    if (!is.na(newest)) reaped_up_to <<- newest
    for (pid in pids) {
      if (is.na(pid) || pid == me) next
      stat <- tryCatch(rawToChar(readBin(sprintf("/proc/%d/stat", pid), "raw", 4096L)), error = function(e) "")
      if (!nzchar(stat)) next
      fields <- strsplit(sub("^.*\\) ", "", stat), " ", fixed = TRUE)[[1]]
      if (length(fields) < 3 || fields[3] != as.character(me)) next
      environ <- tryCatch(readBin(sprintf("/proc/%d/environ", pid), "raw", 1048576L), error = function(e) raw(0))
      if (length(grepRaw(helper, environ, fixed = TRUE))) next
      tools::pskill(pid, tools::SIGKILL)
    }
  }

  execute <- function(command) {
    if (isTRUE(command$reset)) {
      reap_due <<- TRUE
      if (!is.null(checkpoint)) {
        clear()
        list2env(checkpoint, globalenv())
      }
    }
    bound <- tryCatch({
      for (name in names(command$inputs)) {
        assign(name, bind(command$inputs[[name]], command$types[[name]]), envir = globalenv())
      }
      NULL
    }, error = function(e) paste0("an input could not be bound: ", conditionMessage(e)))
    if (!is.null(bound)) return(failure(bound))
    failed <- attempt(command$code)
    if (!is.null(failed)) return(failure(failed))
    outputs <- character(0)
    for (name in unlist(command$outputs)) {
      if (!exists(name, envir = globalenv(), inherits = FALSE)) {
        return(failure(sprintf("output parameter '%s' was not set by the code", name)))
      }
      sent <- output_json(name, get(name, envir = globalenv()), command$outputTypes[[name]])
      if (!is.null(sent$failure)) return(sent$failure)
      outputs <- c(outputs, paste0(json_string(name), ":", sent$json))
    }
    ok('"errorMessage":""', sprintf('"outputParameters":{%s}', paste(outputs, collapse = ",")))
  }

  initialize <- function(command) {
    if (length(command$code) && nzchar(command$code)) {
      failed <- attempt(command$code)
      if (!is.null(failed)) return(failure(paste0("the service's init code failed: ", failed)))
    }
    checkpoint <<- mget(all_names(), envir = globalenv())
    ok()
  }

  handle <- function(command) {
    name <- command$name
    switch(command$op,
      execute = execute(command),
      init = initialize(command),
      list = ok(paste0('"names":', jsonlite::toJSON(as.character(user_names())))),
      get = {
        if (!(name %in% user_names())) return(failure(paste("no object", name)))
        ok(paste0('"data":', json_string(jsonlite::base64_enc(serialize(get(name, envir = globalenv()), NULL)))))
      },
      set = {
        bytes <- jsonlite::base64_dec(command$data)
        value <- tryCatch(list(readRDS(gzcon(rawConnection(bytes)))), error = function(e) NULL)
        if (is.null(value)) {
          return(failure(paste(
            "the body is not an R object serialised with serialize() or saveRDS(),",
            "as mrsdeploy's putLocalObject sends it"
          )))
        }
        assign(name, value[[1]], envir = globalenv())
        ok()
      },
      delete = {
        if (!(name %in% user_names())) return(failure(paste("no object", name)))
        rm(list = name, envir = globalenv())
        ok()
      },
      save = {
        save(list = all_names(), file = command$path, envir = globalenv())
        ok(paste0('"objects":', jsonlite::toJSON(as.character(user_names()))))
      },
      load = {
        loaded <- new.env()
        problem <- tryCatch({
          load(command$path, envir = loaded)
          NULL
        }, error = function(e) paste0("the snapshot's workspace could not be loaded: ", conditionMessage(e)))
        if (!is.null(problem)) return(failure(problem))
        clear()
        for (object in ls(loaded, all.names = TRUE)) assign(object, get(object, envir = loaded), envir = globalenv())
        ok()
      },
      failure("unknown command"))
  }

  send <- function(text) {
    writeLines(text, replies)
    flush(replies)
  }

  # One command; FALSE once stdin has ended. Interrupts wait until user code runs (see run_code).
  serve <- function() suspendInterrupts({
    line <- readLines(input, n = 1L, warn = FALSE, encoding = "UTF-8")
    if (length(line) == 0L) return(FALSE)
    marker <- ""
    reply <- tryCatch({
      command <- jsonlite::parse_json(line, simplifyVector = FALSE)
      marker <- command$marker
      handle(command)
    }, error = function(e) failure(conditionMessage(e)))
    flush(stdout())
    cat(marker)
    flush(stdout())
    send(reply)
    if (reap_due) {
      reap_due <<- FALSE
      reap()
    }
    TRUE
  })

  # Ready: the dev server starts a command's time limit only now.
  send('{"ready": true}')
  repeat if (!isTRUE(tryCatch(serve(), interrupt = function(e) TRUE))) break
})`;

/** Starts an R kernel: `rscript` is an `Rscript` (see `resolveR`). */
export function startRKernel(rscript: string, cwd: string, interruptible: boolean): Kernel {
  return new Kernel(
    {
      language: "R",
      command: "sh",
      // stderr joins stdout (R's messages and warnings, and whatever the code starts, are console
      // output), then sh becomes R: the kernel's pid is the process group's leader.
      args: [
        "-c",
        'exec 2>&1; exec "$0" --vanilla -e "$1"',
        rscript,
        'eval(parse(text = Sys.getenv("MLSERVER_R_KERNEL")))',
      ],
      env: { ...process.env, MLSERVER_R_KERNEL: KERNEL, MLSERVER_DEVSERVER_PID: String(process.pid) },
    },
    cwd,
    interruptible,
  );
}
