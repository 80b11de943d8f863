import Foundation
import Testing

/// `fio-replay info` on the blktrace capture in traces/ against blktrace's own tools run
/// on the same capture: btt 2.0 (per-phase latencies, merge and seek figures, per
/// process) and blkparse 1.2 (`-s` per-pid counts, per-event text for merges).
@Suite struct BttInfoTests {
    /// Runs a shell command in `dir`; fails the test on a non-zero exit.
    func sh(_ cmd: String, in dir: String) throws -> String {
        let r = try run("sh", ["-c", cmd], cwd: dir)
        #expect(r.status == 0, "\(cmd): \(r.stderr)")
        return r.stdout
    }

    /// btt's "S.NNNNNNNNN" seconds as ns (exact: btt prints whole ns).
    func ns(_ s: Substring) -> UInt64? {
        let p = s.split(separator: ".")
        guard p.count == 2, let a = UInt64(p[0]), let b = UInt64(p[1]), p[1].count == 9 else { return nil }
        return a * 1_000_000_000 + b
    }

    /// Our JSON figure of one phase: (n, min, max, mean) in ns.
    func figure(_ phases: [String: Any], _ name: String) -> (Int, UInt64, UInt64, Double)? {
        guard let p = phases[name] as? [String: Any], let n = p["n"] as? Int, let mn = p["min_ns"] as? UInt64,
              let mx = p["max_ns"] as? UInt64, let mean = p["mean_ns"] as? Double else { return nil }
        return (n, mn, mx, mean)
    }

    /// Compares a btt row "MIN AVG MAX N" (seconds) with our figure.
    func check(_ row: [Substring], _ ours: (Int, UInt64, UInt64, Double)?, _ what: String) {
        guard row.count == 4, let mn = ns(row[0]), let mx = ns(row[2]), let n = Int(row[3]), let avg = Double(row[1]) else {
            Issue.record("\(what): cannot read btt's row \(row)")
            return
        }
        guard let o = ours else { Issue.record("\(what): missing in our output"); return }
        #expect(o.0 == n, "\(what): N \(o.0) vs btt \(n)")
        #expect(o.1 == mn && o.2 == mx, "\(what): min/max \(o.1)/\(o.2) vs btt \(mn)/\(mx)")
        // btt prints the mean rounded to ns.
        #expect(abs(o.3 / 1e9 - avg) <= 0.6e-9, "\(what): mean \(o.3) ns vs btt \(avg) s")
    }

    @Test func infoMatchesBttAndBlkparse() throws {
        #expect(haveTool("btt") && haveTool("blkparse"), "btt and blkparse come with Debian's blktrace (scripts/setup.sh)")
        let dir = makeTempDir(); defer { cleanup(dir) }
        _ = try sh("blkparse -i liuzel01-sda -D '\(sampleTraces)' -d dump.bin -O >/dev/null", in: dir)
        _ = try sh("btt -i dump.bin -A -X -s seek -o btt >/dev/null", in: dir)
        let xvg = try String(contentsOfFile: dir + "/btt.xvg", encoding: .utf8)
        let avg = try String(contentsOfFile: dir + "/btt.avg", encoding: .utf8)

        for path in [sampleTraces + "/liuzel01-sda.blktrace.0", sampleTraces + "/liuzel01-sda.blkparse-dump.bin"] {
            let info = try json(run("fio-replay", ["info", "--json", path]))
            let bt = try #require(info["btt"] as? [String: Any], "\(path): no btt section")
            let all = try #require(bt["all"] as? [String: Any])
            let devices = try #require(bt["devices"] as? [[String: Any]])
            let sda = try #require(devices.first { $0["device"] as? String == "8:0" })

            // All devices: btt -X prints "NAME MIN AVG MAX N" per phase.
            var phasesSeen = 0
            for line in xvg.split(separator: "\n") {
                let f = line.split(separator: " ")
                guard let name = f.first, ["Q2Q", "Q2G", "G2I", "Q2M", "I2D", "M2D", "D2C", "Q2C"].contains(String(name)) else { continue }
                check(Array(f.dropFirst()), figure(all, String(name)), "\(path): all devices \(name)")
                phasesSeen += 1
            }
            #expect(phasesSeen == 8)

            // Merge information: "DMI 8,0 #Q #D ratio BLKmin BLKavg BLKmax Total".
            let dmi = try #require(xvg.split(separator: "\n").first { $0.hasPrefix("DMI 8,0 ") }).split(separator: " ")
            #expect(sda["queued"] as? Int == Int(dmi[2]) && sda["dispatched"] as? Int == Int(dmi[3]))
            let blocks = try #require(sda["completed_blocks"] as? [String: Any])
            #expect(blocks["min"] as? Int == Int(dmi[5]) && blocks["max"] as? Int == Int(dmi[7]) && blocks["total"] as? Int == Int(dmi[8]))
            #expect(abs((sda["merge_ratio"] as? Double ?? 0) - Double(dmi[4])!) < 1e-6)

            // Seeks: "QSK 8,0 NSEEKS MEAN MEDIAN MODE COUNT" (btt's MEDIAN is not one; see
            // below). The median is checked against the distances btt lists (-s).
            for (tag, key, file) in [("QSK", "q2q_seeks", "seek_8,0_q2q_c.dat"), ("DSK", "d2d_seeks", "seek_8,0_d2d_c.dat")] {
                let row = try #require(xvg.split(separator: "\n").first { $0.hasPrefix("\(tag) 8,0 ") }).split(separator: " ")
                let s = try #require(sda[key] as? [String: Any])
                #expect(s["count"] as? Int == Int(row[2]), "\(tag) count")
                #expect(abs((s["mean_sectors"] as? Double ?? 0) - Double(row[3])!) < 1e-3, "\(tag) mean")
                #expect(s["mode_sectors"] as? Int == Int(row[5]) && s["mode_count"] as? Int == Int(row[6]), "\(tag) mode")
                let dists = try String(contentsOfFile: dir + "/" + file, encoding: .utf8).split(separator: "\n")
                    .compactMap { l -> Int64? in let f = l.split(separator: " "); return f.count == 3 ? Int64(f[1]).map { abs($0) } : nil }
                    .sorted()
                #expect(dists.count == s["count"] as? Int)
                #expect(s["median_sectors"] as? Int64 == dists[(dists.count + 1) / 2 - 1], "\(tag) lower median")
            }
            #expect(abs((sda["avg_active_at_q"] as? Double ?? 0) - Double(xvg.split(separator: "\n").first { $0.hasPrefix("ARQ 8,0") }!.split(separator: " ")[2])!) < 1e-6)

            // Per process: btt -A's "Per Process" tables, "name MIN AVG MAX N" per phase.
            let procs = try #require(bt["processes"] as? [[String: Any]])
            let perProcess = avg.components(separatedBy: "==================== Per Process ====================")[1]
                .components(separatedBy: "==================== Per Device")[0]
            var rows = 0
            var phase = ""
            for line in perProcess.split(separator: "\n") {
                let f = line.split(separator: " ")
                if f.count == 5 && f[1] == "MIN" { phase = String(f[0]); continue }
                guard f.count == 5, let _ = ns(f[1]), !phase.isEmpty else { continue }
                let p = procs.first { $0["name"] as? String == String(f[0]) }
                check(Array(f.dropFirst()), figure(p?["phases"] as? [String: Any] ?? [:], phase), "\(path): \(f[0]) \(phase)")
                rows += 1
            }
            #expect(rows >= 18, "btt listed \(rows) per-process rows")
        }
    }

    @Test func perPidCountsMatchBlkparseSummary() throws {
        #expect(haveTool("blkparse"))
        let dir = makeTempDir(); defer { cleanup(dir) }
        let text = try sh("blkparse -i liuzel01-sda -D '\(sampleTraces)' -s", in: dir)
        let info = try json(run("fio-replay", ["info", "--json", sampleTraces + "/liuzel01-sda.blktrace.0"]))
        let pids = try #require((info["btt"] as? [String: Any])?["pids"] as? [[String: Any]])
        // blkparse -s blocks: "name (pid)" then lines "Reads Queued: N, KKiB  Writes Queued: N, KKiB" ...
        let lines = text.components(separatedBy: "\n")
        var checked = 0
        for (i, l) in lines.enumerated() {
            guard l.hasSuffix(")"), !l.hasPrefix(" "), !l.hasPrefix("CPU"), !l.hasPrefix("Total"),
                  let open = l.lastIndex(of: "("), let pid = Int(l[l.index(after: open)..<l.index(before: l.endIndex)]) else { continue }
            let name = String(l[..<open]).trimmingCharacters(in: .whitespaces)
            guard let ours = pids.first(where: { $0["pid"] as? Int == pid }) else { Issue.record("pid \(pid) (\(name)) missing"); continue }
            // pid 0 is every CPU's idle task (swapper/0, swapper/1...): which name a pid
            // shows first depends on the order the files are read in.
            if pid == 0 { #expect((ours["name"] as? String ?? "").hasPrefix("swapper/")) } else { #expect(ours["name"] as? String == name) }
            func pair(_ row: String, _ label: String) -> (Int, Int)? {
                guard let r = row.range(of: label) else { return nil }
                let rest = row[r.upperBound...].split(whereSeparator: { $0 == "\t" || $0 == "\n" })[0].replacingOccurrences(of: "KiB", with: "")
                let p = rest.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                guard let n = Int(p[0]) else { return nil }
                return (n, p.count > 1 ? Int(p[1]) ?? -1 : -1)
            }
            let block = lines[(i + 1)...].prefix(9).joined(separator: "\n")
            let rows: [(String, String, String)] = [
                ("Reads Queued:", "reads_queued", "read_bytes_queued"), ("Writes Queued:", "writes_queued", "write_bytes_queued"),
                ("Read Dispatches:", "read_dispatches", "read_bytes_dispatched"), ("Write Dispatches:", "write_dispatches", "write_bytes_dispatched"),
                ("Reads Completed:", "reads_completed", "read_bytes_completed"), ("Writes Completed:", "writes_completed", "write_bytes_completed"),
                ("Read Merges:", "read_merges", "read_bytes_merged"), ("Write Merges:", "write_merges", "write_bytes_merged"),
            ]
            for (label, count, bytes) in rows {
                guard let (n, kib) = pair(block, label) else { Issue.record("\(name): no \(label)"); continue }
                #expect(ours[count] as? Int == n, "\(name) (\(pid)) \(label) \(ours[count] ?? "-") vs \(n)")
                #expect((ours[bytes] as? Int).map { $0 / 1024 } == kib, "\(name) (\(pid)) \(label) KiB")
            }
            checked += 1
        }
        #expect(checked == pids.count && checked >= 8, "blkparse listed \(checked) pids, we \(pids.count)")

        // Front and back merges against blkparse's per-event text (M back, F front).
        let actions = try sh("blkparse -i liuzel01-sda -D '\(sampleTraces)' -q -f '%a %N\\n'", in: dir).split(separator: "\n")
        let sda = try #require(((info["btt"] as? [String: Any])?["devices"] as? [[String: Any]])?.first { $0["device"] as? String == "8:0" })
        let back = actions.filter { $0.hasPrefix("M ") }, front = actions.filter { $0.hasPrefix("F ") }
        #expect(sda["back_merges"] as? Int == back.count && sda["front_merges"] as? Int == front.count)
        #expect(sda["back_merge_bytes"] as? Int == back.compactMap { Int($0.split(separator: " ")[1]) }.reduce(0, +))
        #expect(back.count + front.count > 0)
    }

    @Test func textShowsTheBttSection() throws {
        let r = try run("fio-replay", ["info", sampleTraces + "/liuzel01-sda"])
        #expect(r.status == 0)
        for needle in ["btt (blktrace's analysis", "Q2C", "device 8:0: Q 113, D 109", "seeks Q2Q: 113", "per process", "kworker/u256:1 (17852)"] {
            #expect(r.stdout.contains(needle), "missing \(needle)")
        }
        // A non-blktrace trace has no such section.
        let other = try run("fio-replay", ["info", sampleTraces + "/sample-randrw.fiot"])
        #expect(other.status == 0 && !other.stdout.contains("btt ("))
    }
}
