import ArgumentParser
import FioReplay
import FioTrace
import Foundation

/// `--verify` and its companions on `replay`.
struct VerifyFlags: ParsableArguments {
    @Option(name: .customLong("verify"), help: ArgumentHelp("Write verifiable data and check it: \(VerifyAlgorithm.names) (fio's verify=)."))
    var algorithm: String?

    @Option(name: .customLong("verify-interval"), parsing: .unconditional, help: "Bytes between verify headers: a power of two, 512 to 1m (fio's verify_interval; default 512, so every sector can be checked on its own).", transform: parseSize)
    var interval: UInt64 = 512

    @Option(name: .customLong("verify-pattern"), help: "The pattern for --verify pattern, in fio's syntax (0xdeadbeef, \"text\", %o for the offset).")
    var pattern: String?

    @Option(name: .customLong("verify-state"), help: "Save the verify state here as the run goes (crash-safe journal), for `fio-replay verify` later.")
    var state: String?

    @Flag(name: .customLong("verify-fatal"), help: "Stop at the first bad read (fio's verify_fatal).")
    var fatal = false

    @Flag(name: .customLong("do-verify"), inversion: .prefixedNo, help: "After the run, read back everything written and check it (fio's do_verify).")
    var doVerify = true

    @Option(name: .customLong("verify-iodepth"), parsing: .unconditional, help: "Reads in flight during the read-back pass.")
    var passDepth: Int = 16

    /// The verify settings, nil without --verify.
    func options() throws -> VerifyOptions? {
        guard let name = algorithm else {
            if pattern != nil || state != nil || fatal {
                throw ValidationError("--verify-pattern, --verify-state and --verify-fatal need --verify ALGO")
            }
            return nil
        }
        guard let a = VerifyAlgorithm(name: name) else {
            throw ValidationError("--verify \(name): unknown algorithm (known: \(VerifyAlgorithm.names))")
        }
        var o = VerifyOptions()
        o.algorithm = a
        guard interval >= 512, interval <= 1 << 20, interval & (interval - 1) == 0 else {
            throw ValidationError("--verify-interval must be a power of two from 512 to 1m, got \(interval)")
        }
        o.interval = Int(interval)
        if let p = pattern {
            guard a == .pattern else { throw ValidationError("--verify-pattern goes with --verify pattern") }
            do { o.pattern = try DataPattern.parse(p, allowOffset: true) } catch {
                throw ValidationError("--verify-pattern \(p): \(error)")
            }
        }
        o.fatal = fatal
        guard passDepth >= 1 && passDepth <= 65536 else { throw ValidationError("--verify-iodepth must be 1...65536") }
        return o
    }
}

/// Builds the verifier of a run (and starts its state file), or exits 1 with the reason.
func makeVerifier(_ options: VerifyOptions, statePath: String?, concurrent: Bool) throws -> Verifier {
    let v = Verifier(options: options, concurrent: concurrent)
    if let statePath { try reportingErrors { try v.startState(path: statePath) } }
    return v
}

/// After a run that verified: ends the state file cleanly, runs the read-back pass when
/// asked, and returns the results for the report. A pass that cannot run is a warning.
func finishVerify(_ v: Verifier, statePath: String?, pass: Bool, engine: EngineKind, iodepth: Int, direct: Bool,
                  interrupted: Bool) throws -> VerifyResults {
    if statePath != nil {
        // A run stopped by Ctrl-C still ends its state cleanly: everything it issued completed.
        try reportingErrors { try v.finishState() }
    }
    if pass && !interrupted {
        var p = VerifyPass()
        p.engine = engine
        p.iodepth = iodepth
        p.direct = direct
        do { _ = try p.run(v) { warn("fio-replay: verify pass: \($0)") } } catch {
            warn("fio-replay: error: the verify pass could not run: \(error)")
        }
    }
    return v.results
}

/// The exit status once verify results are known: 1 when something was bad (after saying
/// so), else `status`.
func verifyStatus(_ v: VerifyResults?, _ status: Int32) -> Int32 {
    guard let v, !v.isClean else { return status }
    warn("fio-replay: verify found \(v.badSectors * 512) bad bytes in \(v.inline.badRanges + v.pass.badRanges) ranges")
    return status == 0 ? 1 : status
}

/// `fio-replay verify --state STATE`: reads back everything a run's saved state says was
/// written and checks it, possibly after a crash, in another process.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Read back and check what a verified replay or run wrote (from its --verify-state), also after a crash.",
        discussion: """
        Every extent whose last writer the state knows is read at full queue depth through the
        same engines as a replay and checked sector by sector. Bad ranges are reported with
        their class: corrupted (bits changed), stale (an older write: a lost write), misdirected
        (data of another offset or file), unwritten (zeros), torn (one write's sectors from two
        generations).

        A state whose run did not finish (killed, or the machine lost power) is read with
        --crash: kill (every completed write must be there) or power (only writes made durable
        by a completed fsync must be; later ones may hold old or new data, counted apart as
        "older but allowed").

        Exit status: 0 when nothing is bad, 1 when something is (or the state cannot be read).
        """)

    @Option(help: "The state file a replay or run saved (--verify-state).")
    var state: String

    @Option(help: "Read every target of the state from this file or block device instead.")
    var target: String?

    @Option(name: .customLong("map"), help: "Read one target from elsewhere: ORIG=NEW (repeatable).")
    var maps: [String] = []

    @Option(help: ArgumentHelp("I/O engine: \(EngineRegistry.choices)."))
    var engine: String = "auto"

    @Option(parsing: .unconditional, help: "Reads in flight.")
    var iodepth: Int = 16

    @Flag(help: "Read with O_DIRECT (reads widened to 4 KiB boundaries).")
    var direct = false

    @Option(name: .customLong("bs"), parsing: .unconditional, help: "Largest read (fio's suffixes).", transform: parseSize)
    var blockSize: UInt64 = 1 << 20

    @Option(help: "For a run that did not finish: kill (completed writes must be there) or power (only fsynced ones must).")
    var crash: String = "power"

    @Option(name: .customLong("output-format"), help: "normal or json.")
    var outputFormat: String = "normal"

    @Flag(name: .customLong("no-progress"), help: "No progress line on stderr.")
    var noProgress = false

    func run() throws {
        currentCommand = .verify
        guard let kind = EngineKind(rawValue: engine) else { throw ValidationError("unknown engine \"\(engine)\" (known: \(EngineRegistry.choices))") }
        guard let model = CrashModel(rawValue: crash) else { throw ValidationError("--crash wants kill or power") }
        guard ["normal", "json"].contains(outputFormat) else { throw ValidationError("--output-format wants normal or json") }
        guard iodepth >= 1 && iodepth <= 65536 else { throw ValidationError("--iodepth must be 1...65536") }
        guard blockSize >= 4096 && blockSize <= 64 << 20 else { throw ValidationError("--bs must be 4k...64m") }
        var map: [String: String] = [:]
        for m in maps {
            guard let eq = m.firstIndex(of: "=") else { throw ValidationError("--map wants ORIG=NEW, got \"\(m)\"") }
            map[String(m[..<eq])] = String(m[m.index(after: eq)...])
        }
        let loaded = try reportingErrors { try LoadedVerifyState.load(path: state, crash: model) }
        if !loaded.clean {
            warn("fio-replay: the run that wrote \(state) did not finish (\(loaded.stoppedBecause)); checking as after a \(model == .kill ? "process kill: every completed write" : "power cut: only writes a completed fsync made durable") must be there (\(loaded.inFlightAtEnd) writes were in flight, \(loaded.undurableAtEnd) not yet durable)")
        }
        let v = Verifier(state: loaded)
        if !loaded.clean { v.noteCrashMode(model == .kill ? "process kill" : "power cut") }
        var p = VerifyPass()
        p.engine = kind
        p.iodepth = iodepth
        p.direct = direct
        p.blockSize = Int(blockSize)
        p.targets = TargetMapping(all: target, map: map)
        installInterruptHandler()
        let result = try reportingErrors { try p.run(v, afterCrash: !loaded.clean) { warn("fio-replay: \($0)") } }
        let report = JobReport(name: "verify", result: result, options: ["state": state, "ioengine": result.engineName,
                                                                        "iodepth": String(result.iodepth)],
                               verify: v.results)
        let text = outputFormat == "json" ? FioJSONReport().render([report]) : TextReport().render([report], label: "Verify")
        FileHandle.standardOutput.write(Data(text.utf8))
        if let e = result.error { warn("fio-replay: error: \(describe(e))"); throw ExitCode(1) }
        if !v.results.isClean {
            warn("fio-replay: verify found \(v.results.badSectors * 512) bad bytes in \(v.results.pass.badRanges) ranges")
            throw ExitCode(1)
        }
    }
}
