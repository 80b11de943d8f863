#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses a fio job file: `[global]` sections (applying to the jobs after them), job
/// sections, `numjobs` clones, fio's option names (with `-` accepted for `_`) and units.
/// An option fio-gen does not model is an error naming the option and its line.
/// `extraOptions` (from the command line) are appended to every job: they override the file.
public func parseJobFile(path: String, extraOptions: [JobOption] = []) throws -> [JobSpec] {
    let text = try readJobFileText(path: path)
    return try parseJobText(text, fileName: path, extraOptions: extraOptions)
}

/// The same from text (`fileName` names it in errors).
public func parseJobText(_ text: String, fileName: String = "<job>", extraOptions: [JobOption] = []) throws -> [JobSpec] {
    var sections: [(name: String, line: Int, options: [JobOption], globals: Int)] = []
    var global: [JobOption] = []
    var current: (name: String, line: Int, options: [JobOption], globals: Int)?
    var inGlobal = false
    for (lineNo, line) in try expandIncludes(text, fileName: fileName, depth: 0) {
        if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
        if line.hasPrefix("[") {
            guard line.hasSuffix("]"), line.count > 2 else {
                throw TraceError(.malformedLine, "\(fileName):\(lineNo): malformed section header \"\(line)\"")
            }
            if let c = current { sections.append(c) }
            current = nil
            let name = String(line.dropFirst().dropLast()).trimmed
            if name == "global" {
                inGlobal = true
            } else {
                inGlobal = false
                current = (name, lineNo, global, global.count)
            }
            continue
        }
        let opt = try splitOption(line, fileName: fileName, line: lineNo)
        if inGlobal {
            global.append(opt)
        } else if current != nil {
            current!.options.append(opt)
        } else {
            throw TraceError(.malformedLine, "\(fileName):\(lineNo): option \"\(opt.name)\" outside any section (add [global] or [jobname] above it)")
        }
    }
    if let c = current { sections.append(c) }
    if sections.isEmpty {
        throw TraceError(.malformedLine, "\(fileName): no job sections (only [global]?): nothing to generate")
    }
    var jobs: [JobSpec] = []
    for s in sections {
        let clones = try buildJobs(name: s.name, options: s.options + extraOptions, fileName: fileName, sectionLine: s.line,
                                   globalCount: s.globals, extraCount: extraOptions.count)
        for var j in clones {
            j.index = jobs.count
            jobs.append(j)
        }
    }
    return jobs
}

/// The job file's lines (trimmed, numbered) with fio's `include FILE` replaced by that
/// file's lines, where it stands. As in fio 3.33: a relative name is looked up from the
/// current directory, then from the including file's directory; an included file may hold
/// options (and further includes) but no section of its own. Lines of an included file
/// carry the number of the `include` line, so a message about them points at the include.
func expandIncludes(_ text: String, fileName: String, depth: Int, at: Int? = nil) throws -> [(Int, String)] {
    var out: [(Int, String)] = []
    var lineNo = 0
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
        lineNo += 1
        let line = String(raw).trimmed
        guard line.hasPrefix("include ") || line.hasPrefix("include\t") || line == "include" else {
            out.append((at ?? lineNo, line))
            continue
        }
        let name = String(line.dropFirst("include".count)).trimmed
        guard !name.isEmpty else { throw TraceError(.malformedLine, "\(fileName):\(lineNo): include needs a file name") }
        guard depth < 8 else {
            throw TraceError(.malformedLine, "\(fileName):\(lineNo): include \(name): more than 8 nested includes (does a file include itself?)")
        }
        var path = name
        if !path.hasPrefix("/") && access(path, F_OK) != 0, let slash = fileName.lastIndex(of: "/") {
            path = String(fileName[...slash]) + name
        }
        // Only regular files: a device or FIFO named here could block or never end.
        var st = stat()
        if stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
            throw TraceError(.malformedLine, "\(fileName):\(lineNo): include \(name): not a regular file")
        }
        let included: String
        do {
            included = try readJobFileText(path: path)
        } catch let e as TraceError {
            throw TraceError(e.kind, "\(fileName):\(lineNo): include \(name): \(e.message)")
        }
        let lines = try expandIncludes(included, fileName: path, depth: depth + 1, at: at ?? lineNo)
        if lines.contains(where: { $0.1.hasPrefix("[") }) {
            throw TraceError(.malformedLine, "\(fileName):\(lineNo): include \(name): an included file may not start a section (fio: \"No new sections in included files\"); put the section in the job file")
        }
        out += lines
    }
    return out
}

/// Jobs from fio-style command-line options (`--name=a --rw=randread ...`): options before
/// the first `--name` are global, each `--name` starts a job, as on fio's command line.
/// Without any `--name` there is one job called `job`.
public func parseJobOptions(_ options: [JobOption]) throws -> [JobSpec] {
    var global: [JobOption] = []
    var sections: [(String, [JobOption])] = []
    var globalCount = 0
    for o in options {
        let name = normalizedOptionName(o.name)
        if name == "name" {
            globalCount = global.count
            sections.append((o.value ?? "job", global + [o]))
        } else if sections.isEmpty {
            global.append(o)
        } else {
            sections[sections.count - 1].1.append(o)
        }
    }
    // Without --name, fio's one job holds every option as its own.
    if sections.isEmpty { sections = [("job", global)] }
    var jobs: [JobSpec] = []
    for (name, opts) in sections {
        for var j in try buildJobs(name: name, options: opts, fileName: "command line", sectionLine: 0, globalCount: globalCount) {
            j.index = jobs.count
            jobs.append(j)
        }
    }
    return jobs
}

/// Renders jobs' options back as a job file (what the metadata keeps for flag-made jobs).
public func jobFileText(options: [JobOption]) -> String {
    var out = ""
    var started = false
    for o in options {
        if normalizedOptionName(o.name) == "name" {
            out += "\n[\(o.value ?? "job")]\n"
            started = true
            continue
        }
        if !started && out.isEmpty { out += "[global]\n" }
        out += o.description + "\n"
    }
    if !started { out += "\n[job]\n" }
    return out
}

/// An option's name as the option table knows it: lower case, `_` for `-`, fio's aliases
/// resolved to their canonical name (`readwrite` -> `rw`).
func normalizedOptionName(_ raw: String) -> String {
    let n = raw.trimmed.lowercased().replacingDashes
    return JobOptionTable.canonicalName[n] ?? n
}

extension String {
    var replacingDashes: String { String(map { $0 == "-" ? "_" : $0 }) }
}

private func splitOption(_ line: String, fileName: String, line lineNo: Int) throws -> JobOption {
    if let eq = line.firstIndex(of: "=") {
        let name = String(line[..<eq]).trimmed
        let value = try expandEnv(String(line[line.index(after: eq)...]).trimmed, fileName: fileName, line: lineNo)
        if name.isEmpty {
            throw TraceError(.malformedLine, "\(fileName):\(lineNo): missing option name before '='")
        }
        return JobOption(name: name, value: value, line: lineNo)
    }
    return JobOption(name: line, value: nil, line: lineNo)
}

/// fio expands `${VAR}` from the environment.
private func expandEnv(_ v: String, fileName: String, line: Int) throws -> String {
    guard v.contains("${") else { return v }
    var out = ""
    var rest = Substring(v)
    while let r = rest.firstRange(of: "${") {
        out += rest[..<r.lowerBound]
        guard let close = rest[r.upperBound...].firstIndex(of: "}") else {
            throw TraceError(.malformedLine, "\(fileName):\(line): unterminated ${ in \"\(v)\"")
        }
        let name = String(rest[r.upperBound..<close])
        guard let val = getenv(name) else {
            throw TraceError(.malformedLine, "\(fileName):\(line): environment variable \(name) is not set (used in \"\(v)\")")
        }
        out += String(cString: val)
        rest = rest[rest.index(after: close)...]
    }
    return out + rest
}

/// A job file's text (at most 16 MiB), as the parser reads it; the metadata keeps it.
public func readJobFileText(path: String) throws -> String {
    guard let f = fopen(path, "rb") else {
        throw TraceError(.cannotOpen, "\(path): cannot open: \(String(cString: strerror(errno)))")
    }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count {
            if ferror(f) != 0 { throw TraceError(.io, "\(path): read error: \(String(cString: strerror(errno)))") }
            break
        }
        if bytes.count > 16 << 20 { throw TraceError(.unsupported, "\(path): job file larger than 16 MiB") }
    }
    return String(decoding: bytes, as: UTF8.self)
}

