/// fio's command-line option syntax, shared by fio-gen and `fio-replay run`.

/// fio options that may be given without a value (`--time_based`): a following token is
/// taken as their value only if it is 0/1/true/false.
let bareFlagOptions: Set<String> = [
    "time_based", "norandommap", "stonewall", "wait_for_previous", "end_fsync", "fsync_on_close",
    "randrepeat", "direct", "buffered", "group_reporting", "thread", "bs_unaligned", "new_group",
    "softrandommap", "unlink", "overwrite", "do_verify", "invalidate", "refill_buffers",
    "scramble_buffers", "zero_buffers", "sync", "gtod_reduce", "disable_lat", "disable_clat",
    "disable_slat", "disable_bw_measurement", "exitall", "allrandrepeat", "create_serialize",
    "create_fsync", "unified_rw_reporting", "stats", "per_job_logs", "rand_repeatable",
]

/// Splits command-line arguments into job files and fio options (`--rw=randread`,
/// `--bs 4k`, bare `--time_based`), in order, as fio's own command line takes them.
public func parseFioArguments(_ rest: [String]) throws -> (jobFiles: [String], options: [JobOption]) {
    var files: [String] = []
    var opts: [JobOption] = []
    var i = 0
    while i < rest.count {
        let t = rest[i]
        i += 1
        if t.hasPrefix("--") && t.count > 2 {
            let body = String(t.dropFirst(2))
            if let eq = body.firstIndex(of: "=") {
                opts.append(JobOption(name: String(body[..<eq]), value: String(body[body.index(after: eq)...]), line: 0))
                continue
            }
            let key = body.lowercased().map { $0 == "-" ? "_" : $0 }
            let name = String(key)
            let next = i < rest.count ? rest[i] : nil
            if bareFlagOptions.contains(name) {
                if let n = next, ["0", "1", "true", "false"].contains(n.lowercased()) {
                    opts.append(JobOption(name: body, value: n, line: 0))
                    i += 1
                } else {
                    opts.append(JobOption(name: body, value: nil, line: 0))
                }
                continue
            }
            guard let n = next, !n.hasPrefix("--") else {
                throw TraceError(.unsupported, "option --\(body) needs a value (--\(body)=VALUE)")
            }
            opts.append(JobOption(name: body, value: n, line: 0))
            i += 1
        } else if t.hasPrefix("-") && t != "-" {
            throw TraceError(.unsupported, "unknown option \(t) (fio options are long: --name=value)")
        } else {
            files.append(t)
        }
    }
    return (files, opts)
}
