/// One option being applied: where it is (for messages) and how to read its value.
struct OptionContext {
    let fileName: String
    let option: JobOption
    /// fio's kb_base for the job (1024 or 1000): how `k` in sizes reads.
    let kbBase: UInt64

    var whereText: String {
        option.line > 0 ? "\(fileName):\(option.line)" : fileName
    }

    func bad(_ why: String) -> TraceError {
        TraceError(.malformedLine, "\(whereText): option \(option.name): \(why) (value \"\(option.value ?? "")\")")
    }

    func value() throws -> String {
        guard let v = option.value, !v.isEmpty else {
            throw TraceError(.malformedLine, "\(whereText): option \(option.name) needs a value")
        }
        return v
    }

    func size(_ s: String) -> UInt64? { FioValue.size(s, kbBase: kbBase) }

    /// A size in bytes (or a count: fio reads counts with the same suffixes).
    func sizeValue() throws -> UInt64 {
        guard let v = size(try value()) else { throw bad("not a size") }
        return v
    }

    func intValue(_ range: ClosedRange<Int> = 0...Int.max) throws -> Int {
        guard let v = size(try value()), v <= UInt64(Int.max), range.contains(Int(v)) else {
            throw bad("expected an integer in \(range.lowerBound)...\(range.upperBound == Int.max ? "" : String(range.upperBound))")
        }
        return Int(v)
    }

    /// A bare option is true, as in fio.
    func boolValue() throws -> Bool {
        guard let b = FioValue.bool(option.value) else { throw bad("expected 0 or 1") }
        return b
    }

    /// A time in ns; a bare number is in `unit` ns (`FioValue.seconds`, `.microseconds`).
    func timeValue(_ unit: UInt64) throws -> UInt64 {
        guard let t = FioValue.time(try value(), defaultUnit: unit) else { throw bad("not a time") }
        return t
    }

    func sizeOrPercent() throws -> SizeOrPercent {
        let v = try value()
        if v.hasSuffix("%") {
            guard let p = Double(String(v.dropLast()).trimmed), p >= 0, p <= 100 else { throw bad("bad percentage") }
            return .percent(p)
        }
        return .bytes(try sizeValue())
    }

    /// `int[,int][,int]` percentages, 0-100 each.
    func percentages(default def: Int) throws -> PerDirection<Int> {
        guard let v = FioValue.perDirection(try value(), default: def, { s -> Int? in
            guard let x = Int(s.trimmed), (0...100).contains(x) else { return nil }
            return x
        }) else { throw bad("expected percentages 0-100") }
        return v
    }

    /// A fill pattern (see `DataPattern`).
    func pattern(allowOffset: Bool) throws -> DataPattern {
        do {
            return try DataPattern.parse(try value(), allowOffset: allowOffset)
        } catch let e as TraceError where e.kind == .malformedLine {
            throw bad(e.message)
        } catch let e as TraceError {
            throw TraceError(e.kind, "\(whereText): option \(option.name): \(e.message)")
        }
    }
}

/// A job while its options are applied, in order (later options override earlier ones, as
/// in fio), plus what can only be checked once all are known.
struct JobBuilder {
    var job: JobSpec
    var numjobs = 1
    let kbBase: UInt64
    /// `rw=...:N`: read once `rw` is final (random and sequential read N differently).
    var rwPostfix: (text: String, at: OptionContext)?
    /// `random_distribution`: parsed at the end, when kb_base is settled.
    var distribution: (text: String, at: OptionContext)?
    /// Where verify was turned on (`verify=` or `verify_pattern`) and `verify_only` set, for messages.
    var verifyAt: OptionContext?
    var verifyOnlyAt: OptionContext?
    /// `verify=` given (then `verify_pattern` does not imply `verify=pattern`).
    var verifyGiven = false

    init(name: String, kbBase: UInt64) {
        job = JobSpec(name: name)
        self.kbBase = kbBase
    }
}

/// Builds a job (and its `numjobs` clones) from its options: each is looked up in
/// `JobOptionTable` (an option that changes nothing fio-gen generates is accepted; one it
/// does not model is an error naming it and its line), then the whole is checked.
/// `globalCount` leading options came from [global] (or before the first `--name`), and
/// `extraCount` trailing ones from the command line given with a job file: both are
/// reported as global options.
func buildJobs(name: String, options: [JobOption], fileName: String, sectionLine: Int,
               globalCount: Int = 0, extraCount: Int = 0) throws -> [JobSpec] {
    var kbBase: UInt64 = 1024
    // kb_base changes how every size parses: take it first.
    for o in options where normalizedOptionName(o.name) == "kb_base" {
        let c = OptionContext(fileName: fileName, option: o, kbBase: 1024)
        guard let v = UInt64(try c.value()), v == 1000 || v == 1024 else { throw c.bad("must be 1000 or 1024") }
        kbBase = v
    }
    var b = JobBuilder(name: name, kbBase: kbBase)
    var refused: [String] = []
    b.job.origin = sectionLine > 0 ? "\(fileName):\(sectionLine)" : fileName
    b.job.options = options
    for (i, o) in options.enumerated() {
        let c = OptionContext(fileName: fileName, option: o, kbBase: kbBase)
        let key = normalizedOptionName(o.name)
        b.job.optionNames.append(key)
        let reportKey = o.name.trimmed.lowercased().replacingDashes
        if i < globalCount || i >= options.count - extraCount {
            b.job.globalReportOptions[reportKey] = o.value ?? "1"
        } else {
            b.job.reportOptions[reportKey] = o.value ?? "1"
        }
        // fio's JSON lists only options given a value (a bare `group_reporting` is left out).
        if o.value == nil { b.job.bareReportOptions.insert(reportKey) } else { b.job.bareReportOptions.remove(reportKey) }
        if let def = JobOptionTable.byName[key] {
            try def.apply(&b, c)
        } else if JobOptionTable.noEffect.contains(key) {
            continue
        } else if knownFioOptions.contains(key) {
            refused.append("\(c.whereText): fio option \(o.name) is not supported (it changes the I/O pattern in a way the job model does not follow)")
        } else {
            let hint = suggestOption(for: key).map { "; did you mean \($0)?" } ?? ""
            refused.append("\(c.whereText): unknown option \(o.name) (not a fio 3.33 option\(hint))")
        }
    }
    // Every option refused, at once, so one attempt shows them all.
    if !refused.isEmpty {
        throw TraceError(.unsupported, refused.count == 1 ? refused[0]
                         : "\(refused.count) options refused: " + refused.joined(separator: "; and "))
    }
    try b.finish(fileName: fileName, sectionLine: sectionLine)
    var out: [JobSpec] = []
    for n in 0..<b.numjobs {
        var j = b.job
        j.jobNumber = n
        out.append(j)
    }
    return out
}

extension JobBuilder {
    /// What can only be checked or settled with every option known.
    mutating func finish(fileName: String, sectionLine: Int) throws {
        let name = job.name
        let w = sectionLine > 0 ? "\(fileName):\(sectionLine)" : fileName
        // Verify options that add I/O fio issues for a job that writes: a live run does them
        // (fio-replay run verifies), a generated trace cannot hold them.
        if job.verifyOnly && job.rw.writes, let at = verifyOnlyAt {
            job.notGeneratable = "\(at.whereText): verify_only=1 replaces the job's writes with fio's check of what an earlier run wrote, which fio-gen does not generate"
        }
        if let at = verifyAt, let v = job.verify, job.rw.writes {
            if job.doVerify {
                job.notGeneratable = "\(at.whereText): verify=\(v) adds fio's read-back verify pass, which fio-gen does not generate (set do_verify=0, or verify with fio-replay run)"
            }
            if let n = job.verifyBacklog, n > 0 {
                job.notGeneratable = "\(at.whereText): verify_backlog=\(n) interleaves fio's verify reads with the writes, which fio-gen does not generate"
            }
        }
        if let (p, c) = rwPostfix {
            if job.rw.isRandom {
                guard let n = Int(p.trimmed), n > 0 else { throw c.bad("the :N of a random rw must be a positive count") }
                job.ddirSeqNr = n
            } else {
                let t = p.trimmed
                if t.hasPrefix("-") {
                    throw TraceError(.unsupported, "\(c.whereText): backwards sequential I/O (rw=\(c.option.value ?? ""), a negative :N) is not supported")
                }
                guard let n = FioValue.size(t, kbBase: kbBase) else { throw c.bad("the :N of a sequential rw must be a size") }
                job.ddirSeqAdd = Int64(n)
            }
        }
        if let (text, c) = distribution {
            job.randomDistribution = try parseDistribution(text, c: c, kbBase: kbBase)
        }
        if !job.randomDistribution.isUniform { job.randomMap = false }
        if job.size == nil && job.fileSize == nil {
            throw TraceError(.malformedLine, "\(w): job \(name): you need to specify size= (or filesize=)")
        }
        if case .percent = job.size, job.fileSize == nil {
            throw TraceError(.unsupported, "\(w): job \(name): size as a percentage needs filesize= (jobs are planned without looking at existing files)")
        }
        if case .percent = job.offset, job.fileSize == nil, job.size == nil {
            throw TraceError(.unsupported, "\(w): job \(name): offset as a percentage needs filesize= or size=")
        }
        if !job.filenames.isEmpty { job.nrFiles = job.filenames.count }
    }
}

/// The fio option closest to a misspelt `name` (edit distance at most 2, or 3 for long
/// names), nil when none is close: "did you mean iodepth?".
func suggestOption(for name: String) -> String? {
    let candidates = Set(JobOptionTable.byName.keys).union(JobOptionTable.noEffect).union(knownFioOptions)
    let limit = name.count >= 10 ? 3 : 2
    var best: (String, Int)?
    for c in candidates.sorted() where abs(c.count - name.count) <= limit {
        let d = editDistance(Array(name.utf8), Array(c.utf8))
        if d <= limit && d < (best?.1 ?? Int.max) { best = (c, d) }
    }
    return best?.0
}

/// Levenshtein distance (insert, delete, substitute, and a swap of neighbours counts 1).
func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev2 = [Int](repeating: 0, count: b.count + 1)
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] { cur[j] = min(cur[j], prev2[j - 2] + 1) }
        }
        prev2 = prev
        prev = cur
    }
    return prev[b.count]
}
