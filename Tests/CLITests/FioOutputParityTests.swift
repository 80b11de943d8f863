import Foundation
import Testing

/// fio's output modes, side by side with fio 3.33 on the same jobs: the JSON's key tree,
/// the terse line's field layout and the normal text's lines.
@Suite struct FioOutputParityTests {
    /// Every key path of a JSON value (array elements by index), leaving out our own
    /// `replay` object.
    func keyPaths(_ v: Any, _ prefix: String = "") -> Set<String> {
        if let d = v as? [String: Any] {
            var out: Set<String> = []
            for (k, x) in d where k != "replay" { out.formUnion(keyPaths(x, prefix + "/" + k)) }
            return out
        }
        if let a = v as? [Any] {
            var out: Set<String> = []
            for (i, x) in a.enumerated() { out.formUnion(keyPaths(x, prefix + "/\(i)")) }
            return out
        }
        return [prefix]
    }

    /// The same jobs run by fio and by `run`: the JSON key trees are identical (disk_util
    /// and "global options" included) apart from our `replay` object.
    @Test(arguments: [
        ["--name=n", "--ioengine=null", "--size=2m", "--rw=randrw"],
        ["--name=p", "--filename=F", "--size=2m", "--rw=randrw", "--ioengine=psync"],
        ["--ioengine=libaio", "--direct=1", "--name=a", "--filename=F", "--size=2m", "--rw=randread", "--iodepth=8"],
        ["--name=g", "--ioengine=null", "--size=1m", "--numjobs=2", "--group_reporting", "--time_based", "--runtime=200ms", "--thread"],
        ["JOBFILE"],
    ])
    func jsonKeyTreeMatchesFio(_ template: [String]) throws {
        guard haveTool("fio") else { Issue.record("fio is not installed (scripts/setup.sh installs it)"); return }
        let dir = makeTempDir("parity"); defer { cleanup(dir) }
        try "[global]\nioengine=psync\nsize=1m\nfilename=\(dir)/g\n[a]\nrw=read\n[b]\nrw=write\nbs=8k\n"
            .write(toFile: dir + "/j.fio", atomically: true, encoding: .utf8)
        let args = template.map { $0 == "JOBFILE" ? dir + "/j.fio" : $0.replacingOccurrences(of: "=F", with: "=\(dir)/f") }
        let fio = try run("fio", args + ["--output-format=json"], cwd: dir)
        #expect(fio.status == 0, "\(fio.stderr)")
        let ours = try run("fio-replay", ["run"] + args + ["--output-format=json", "--no-progress"], cwd: dir)
        #expect(ours.status == 0, "\(ours.stderr)")
        let a = keyPaths(try json(fio)), b = keyPaths(try json(ours))
        #expect(a.subtracting(b).isEmpty, "only in fio's JSON: \(a.subtracting(b).sorted())")
        #expect(b.subtracting(a).isEmpty, "only in ours: \(b.subtracting(a).sorted())")
        if template == ["JOBFILE"] {
            // The [global] options are printed once, not folded into the jobs.
            let g = try json(ours)["global options"] as? [String: String]
            #expect(g?["ioengine"] == "psync" && g?["size"] == "1m", "\(String(describing: g))")
            let jobs = try json(ours)["jobs"] as! [[String: Any]]
            #expect((jobs[1]["job options"] as? [String: String]) == ["rw": "write", "bs": "8k"])
        }
    }

    /// disk_util is the change of the device's /sys/block counters over the run: a direct
    /// job's reads reach the disk, so the disk counts at least as many reads as the job did
    /// (the machine's other I/O can only add), and a utilization within 0-100 %.
    @Test func diskUtilCountsTheJobsReads() throws {
        let dir = makeTempDir("parity"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["run", "--name=d", "--filename=\(dir)/f", "--size=1m", "--rw=randread", "--ioengine=libaio",
                                       "--direct=1", "--iodepth=4", "--output-format=json", "--no-progress"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r)
        guard let disks = j["disk_util"] as? [[String: Any]], let d = disks.first else {
            // A filesystem with no block device (tmpfs, overlay) has none: fio has none either.
            guard haveTool("fio") else { Issue.record("no disk_util, and no fio to check that against"); return }
            let fio = try run("fio", ["--name=d", "--filename=\(dir)/f", "--size=1m", "--rw=randread", "--ioengine=psync",
                                      "--output-format=json"])
            #expect(try json(fio)["disk_util"] == nil, "fio reports a disk for \(dir), we do not")
            return
        }
        let reads = ((j["jobs"] as! [[String: Any]])[0]["read"] as! [String: Any])["total_ios"] as! Int
        #expect((d["read_ios"] as! Int) >= reads)
        // util = io_ticks / run ms: the kernel counts busy time in jiffies, so a short run
        // may show 0; never more than 100.
        let util = d["util"] as! Double
        #expect(util >= 0 && util <= 100)
        #expect(FileManager.default.fileExists(atPath: "/sys/block/\(d["name"] as! String)/stat"))
    }

    /// `--minimal` and `--output-format=terse`: fio's version 3 line, with exactly as many
    /// ';' fields as fio's for the same job, the same names and sums in the same places.
    @Test func terseLineHasFiosLayout() throws {
        guard haveTool("fio") else { Issue.record("fio is not installed"); return }
        let dir = makeTempDir("parity"); defer { cleanup(dir) }
        for args in [["--name=t", "--ioengine=null", "--size=1m", "--rw=randrw"],
                     ["--name=t", "--filename=\(dir)/f", "--size=1m", "--rw=randrw", "--ioengine=psync"]] {
            let fio = try run("fio", args + ["--minimal"], cwd: dir)
            let ours = try run("fio-replay", ["run"] + args + ["--minimal", "--no-progress"], cwd: dir)
            #expect(ours.status == 0, "\(ours.stderr)")
            let terse = try run("fio-replay", ["run"] + args + ["--output-format=terse", "--no-progress"], cwd: dir)
            let f = fio.stdout.split(separator: "\n").last.map { $0.split(separator: ";", omittingEmptySubsequences: false) } ?? []
            let o = ours.stdout.split(separator: "\n").last.map { $0.split(separator: ";", omittingEmptySubsequences: false) } ?? []
            #expect(ours.stdout.split(separator: "\n").count == 1, "--minimal alone prints only the terse line:\n\(ours.stdout)")
            #expect(terse.stdout.split(separator: "\n").count == 1)
            #expect(f.count == o.count, "fio has \(f.count) fields, ours \(o.count)\n\(fio.stdout)\n\(ours.stdout)")
            guard f.count == o.count, o.count >= 121 else { continue }
            #expect(o[0] == "3" && o[2] == "t" && o[3] == "0" && o[4] == "0")
            // read KiB + write KiB = 1024 (the whole 1 MiB, as fio's own line says).
            #expect(Int(o[5])! + Int(o[46])! == 1024 && Int(f[5])! + Int(f[46])! == 1024)
            // The percentile fields are "P%=usec" in the same places, padded with "0%=0".
            for i in 17..<37 { #expect(o[i].contains("%=") && f[i].contains("%="), "field \(i): \(o[i]) / \(f[i])") }
            for i in 34..<37 { #expect(o[i] == "0%=0" && f[i] == "0%=0") }
            // The I/O depth shares (fields 92-98) sum to 100, as fio's do.
            let depth = o[92..<99].map { Double($0.dropLast())! }.reduce(0, +)
            #expect(abs(depth - 100) < 0.5, "\(o[92..<99])")
            // Disk fields: the same device name where fio names one.
            if f.count > 121 { #expect(o[121] == f[121]) }
        }
    }

    /// Comma lists: terse, then JSON, then the normal text, as fio orders them; json+ adds
    /// the bins.
    @Test func outputFormatListsPrintEveryMode() throws {
        let r = try run("fio-replay", ["run", "--name=c", "--ioengine=null", "--size=256k", "--output-format=terse,normal,json+", "--no-progress"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = r.stdout
        let terse = out.range(of: "3;fio-replay-")!, json = out.range(of: "\n{\n")!, normal = out.range(of: "c: (groupid=0, jobs=1)")!
        #expect(terse.lowerBound < json.lowerBound && json.lowerBound < normal.lowerBound)
        #expect(out.contains("\"bins\" : {"))
        let bad = try run("fio-replay", ["run", "--name=c", "--ioengine=null", "--size=256k", "--output-format=normal,xml"])
        #expect(bad.status != 0 && bad.stderr.contains("unknown format \"xml\""), "\(bad.stderr)")
    }

    /// The normal text has fio's lines for the same job: the header before the run, the
    /// per-op lines, the depth lines, the group and the disk stats, in fio's order; and the
    /// units follow fio's rules (checked on the numbers each report prints).
    @Test func textReportHasFiosLines() throws {
        guard haveTool("fio") else { Issue.record("fio is not installed"); return }
        let dir = makeTempDir("parity"); defer { cleanup(dir) }
        let args = ["--name=x", "--filename=\(dir)/f", "--size=2m", "--rw=randrw", "--ioengine=libaio", "--iodepth=4", "--bs=4k"]
        let fio = try run("fio", args, cwd: dir)
        let ours = try run("fio-replay", ["run"] + args + ["--no-progress"], cwd: dir)
        #expect(ours.status == 0, "\(ours.stderr)")
        // Each line's leading label (up to the first ':' or '='), in order.
        func labels(_ text: String) -> [String] {
            text.split(separator: "\n").compactMap { line -> String? in
                let l = String(line)
                if l.hasPrefix("fio") || l.hasPrefix("Run: ") || l.hasPrefix("  duration") || l.hasPrefix("  scheduler") || l.hasPrefix("  lateness")
                    || l.contains("Laying out") || l.hasPrefix("     |") || l.hasPrefix("  lat (") { return nil }
                guard let i = l.firstIndex(where: { $0 == ":" || $0 == "=" }) else { return l }
                // Units ("(usec)") follow each run's own numbers; the label before them must match.
                let label = String(l[..<i])
                return label.range(of: " (").map { String(label[..<$0.lowerBound]) } ?? label
            }
        }
        let f = labels(fio.stdout), o = labels(ours.stdout)
        // Our report ends with our own fidelity lines; fio's lines all come first, in order.
        #expect(Array(o.prefix(f.count)) == f, "fio:\n\(fio.stdout)\nours:\n\(ours.stdout)")
        #expect(ours.stdout.hasPrefix("x: (g=0): rw=randrw, bs=(R) 4096B-4096B, (W) 4096B-4096B, (T) 4096B-4096B, ioengine=libaio, iodepth=4\n"))
        #expect(ours.stdout.contains("\nStarting 1 process\n"))
        // io= in both units as fio's num2str rounds them: KiB and (decimal) kB of the same bytes.
        for line in ours.stdout.split(separator: "\n") where line.contains(": bw=") && line.contains("io=") {
            let io = line.split(separator: "io=")[1].split(separator: ",")[0]  // e.g. "1024KiB (1049kB)"
            let parts = io.split(separator: " ")
            let kib = Double(parts[0].dropLast(3))!, kb = Double(parts[1].dropFirst().dropLast(3))!
            #expect(abs(kib * 1024 / 1000 - kb) <= 1, "\(line)")
        }
    }

    /// --showcmd prints the job file as fio's command line, the same text fio prints;
    /// --parse-only checks and runs nothing; --section picks jobs; --version.
    @Test func commandLineHabits() throws {
        guard haveTool("fio") else { Issue.record("fio is not installed"); return }
        let dir = makeTempDir("parity"); defer { cleanup(dir) }
        let job = dir + "/j.fio"
        try "[global]\nioengine=null\nsize=256k\n; a comment\n[first]\nrw=read\n[second]\nrw=write\nbs=8k\n".write(toFile: job, atomically: true, encoding: .utf8)
        let fio = try run("fio", ["--showcmd", job])
        let ours = try run("fio-replay", ["run", "--showcmd", job])
        #expect(ours.status == 0 && ours.stdout == fio.stdout, "fio: \(fio.stdout) ours: \(ours.stdout)")
        let parse = try run("fio-replay", ["run", "--parse-only", job, "--output-format=json"])
        #expect(parse.status == 0 && parse.stdout.isEmpty, "\(parse.stdout)")
        let badParse = try run("fio-replay", ["run", "--parse-only", "--name=x", "--size=1m", "--rw=sideways"])
        #expect(badParse.status != 0 && badParse.stderr.contains("rw"))
        let one = try run("fio-replay", ["run", job, "--section=second", "--output-format=json", "--no-progress"])
        let jobs = try json(one)["jobs"] as! [[String: Any]]
        #expect(jobs.map { $0["jobname"] as! String } == ["second"])
        let missing = try run("fio-replay", ["run", job, "--section=third"])
        #expect(missing.status != 0 && missing.stderr.contains("[third]") && missing.stderr.contains("first, second"), "\(missing.stderr)")
        // fio's header for numjobs clones and threads: the job line once, "...", the count.
        let hdr = ["--name=h", "--ioengine=null", "--size=64k", "--bs=8k", "--rw=randread", "--numjobs=3", "--thread"]
        let fh = try run("fio", hdr).stdout.split(separator: "\n"), oh = try run("fio-replay", ["run"] + hdr + ["--no-progress"]).stdout.split(separator: "\n")
        #expect(fh.count > 3 && oh.count > 3 && fh[0] == oh[0] && fh[1] == "..." && oh[1] == "..." && fh[3] == oh[3] && oh[3] == "Starting 3 threads",
                "fio: \(fh.prefix(4)) ours: \(oh.prefix(4))")
        for (tool, args) in [("fio-replay", ["--version"]), ("fio-replay", ["run", "--version"]), ("fio-gen", ["--version"])] {
            let v = try run(tool, args)
            #expect(v.status == 0 && v.stdout.hasPrefix(tool + "-"), "\(tool) \(args): \(v.stdout) \(v.stderr)")
        }
    }

    /// --eta never/always and --eta-newline shape the progress line; a --status-interval
    /// below 1 ms is refused by name (its reports: StatusIntervalTests).
    @Test func etaOptions() throws {
        let base = ["run", "--name=e", "--ioengine=null", "--size=64m", "--bs=4k", "--rw=randread", "--runtime=3", "--time_based"]
        let always = try run("fio-replay", base + ["--eta=always", "--eta-newline=200ms"])
        #expect(always.status == 0, "\(always.stderr)")
        let lines = always.stderr.split(separator: "\n").filter { $0.hasPrefix("run: ") }
        #expect(lines.count >= 2, "\(always.stderr)")
        let never = try run("fio-replay", base + ["--eta=never"])
        #expect(!never.stderr.contains("run: "))
        let si = try run("fio-replay", base + ["--status-interval=0"])
        #expect(si.status != 0 && si.stderr.contains("--status-interval must be at least 1ms"), "\(si.stderr)")
    }
}
