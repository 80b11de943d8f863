import ArgumentParser
import FioReplay
import FioTrace

/// `run`'s fio command-line habits: the header fio prints before the jobs start,
/// `--showcmd`, `--section`.
enum RunOutput {
    /// fio's header lines for these jobs (one per job, "..." for numjobs clones).
    static func header(_ live: LiveRun) -> String {
        var rows: [TextReport.HeaderJob] = []
        for (j, job) in live.jobs.enumerated() {
            let plan = live.plans[j]
            func bs(_ d: DataDirection) -> (UInt64, UInt64) { (job.blockSize[d].min, job.blockSize[d].max) }
            rows.append(TextReport.HeaderJob(
                name: job.name, index: job.index - job.jobNumber, group: plan.group, rw: job.rw.rawValue,
                engine: job.ioengine ?? plan.engine.rawValue, iodepth: plan.iodepth,
                bsRead: bs(.read), bsWrite: bs(.write), bsTrim: bs(.trim)))
        }
        // fio forks a process per job unless thread=1; the count and word follow the jobs.
        let threads = live.jobs.contains { j in
            j.options.last { $0.name.lowercased().replacingOccurrences(of: "-", with: "_") == "thread" }.map { FioValue.bool($0.value) ?? false } ?? false
        }
        return TextReport.header(rows, threads: threads)
    }

    /// fio's `--showcmd`: the job file as one command line (`fio` and the [global] options,
    /// then `--name=SECTION` and its options per job), ending with a space as fio's does.
    static func showCommand(jobText: String) -> String {
        var out = "fio"
        for raw in jobText.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                let name = String(line.dropFirst().dropLast()).trimmingCharacters(in: " \t")
                if name != "global" { out += " --name=\(name)" }
                continue
            }
            if let eq = line.firstIndex(of: "=") {
                out += " --\(line[..<eq].trimmingCharacters(in: " \t"))=\(line[line.index(after: eq)...].trimmingCharacters(in: " \t"))"
            } else {
                out += " --\(line)"
            }
        }
        return out + " \n"
    }

    /// fio's `--section`: only the jobs of the named sections (every name must exist).
    static func selectSections(_ jobs: [JobSpec], _ names: [String], file: String) throws -> [JobSpec] {
        guard !names.isEmpty else { return jobs }
        let have = Set(jobs.map(\.name))
        let wanted = names.flatMap { $0.split(separator: ",").map(String.init) }
        if let missing = wanted.first(where: { !have.contains($0) }) {
            throw ValidationError("\(file): no job section [\(missing)] (sections: \(jobs.map(\.name).uniqued().joined(separator: ", ")))")
        }
        var kept = jobs.filter { wanted.contains($0.name) }
        for i in kept.indices { kept[i].index = i }
        return kept
    }
}

extension Array where Element == String {
    func uniqued() -> [String] {
        var seen = Set<String>()
        return filter { seen.insert($0).inserted }
    }
}
