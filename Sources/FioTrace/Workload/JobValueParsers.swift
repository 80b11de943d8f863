// The parsers of fio's structured option values: colon lists, bssplit, random_distribution.

func splitColonList(_ v: String) -> [String] {
    // fio splits on ':' and accepts '\:' for a literal colon.
    var out: [String] = []
    var cur = ""
    var it = v.makeIterator()
    while let ch = it.next() {
        if ch == "\\" {
            if let n = it.next() {
                if n == ":" { cur.append(":") } else { cur.append("\\"); cur.append(n) }
            } else { cur.append("\\") }
        } else if ch == ":" {
            if !cur.isEmpty { out.append(cur) }
            cur = ""
        } else {
            cur.append(ch)
        }
    }
    if !cur.isEmpty { out.append(cur) }
    return out
}

func parseBSSplit(_ text: String, c: OptionContext, size: (String) -> UInt64?) throws -> BlockSizeSpec {
    var entries: [(UInt64, Int?)] = []
    for item in text.split(separator: ":") {
        // Empty sides kept: "/" alone is an entry with no block size, an error, not a trap.
        let p = item.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).trimmed }
        guard let bs = size(p[0]), bs > 0 else { throw c.bad("bad block size \"\(p[0])\" in bssplit") }
        var perc: Int?
        if p.count > 1 && !p[1].isEmpty {
            guard let x = Int(p[1]), (0...100).contains(x) else { throw c.bad("bad percentage \"\(p[1])\" in bssplit") }
            perc = x
        }
        entries.append((bs, perc))
    }
    guard !entries.isEmpty else { throw c.bad("empty bssplit") }
    let given = entries.compactMap(\.1).reduce(0, +)
    let missing = entries.filter { $0.1 == nil }.count
    if given > 100 { throw c.bad("bssplit percentages add to more than 100%") }
    let fill = missing > 0 ? (100 - given) / missing : 0
    var split = entries.map { BlockSplit(bs: $0.0, percent: $0.1 ?? fill) }
    if entries.count == 1 { split[0].percent = 100 }
    // fio sorts the entries by percentage (ascending) for its lookup.
    split = split.enumerated().sorted { a, b in
        a.element.percent != b.element.percent ? a.element.percent < b.element.percent : a.offset < b.offset
    }.map(\.element)
    return BlockSizeSpec(split: split)
}

func parseDistribution(_ text: String, c: OptionContext, kbBase: UInt64) throws -> RandomDistributionSpec {
    let t = text.trimmed.lowercased()
    if t == "random" { return .random }
    if t.hasPrefix("zoned_abs") || t.hasPrefix("zoned") {
        let absolute = t.hasPrefix("zoned_abs")
        let rest = t.dropFirst(absolute ? 9 : 5)
        guard let first = rest.first, first == ":" || first == "=" else {
            throw c.bad("expected zoned:access/size:... or zoned_abs:access/size:...")
        }
        let body = String(rest.dropFirst())
        let parts = body.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 3 else { throw c.bad("at most three comma-separated zone lists (read,write,trim)") }
        var lists: [ZoneSplit?] = []
        for p in parts {
            if p.trimmed.isEmpty { lists.append(nil); continue }
            var zones: [(Int?, UInt64?)] = []
            for item in p.split(separator: ":") {
                let f = item.split(separator: "/", maxSplits: 1).map { String($0).trimmed }
                guard f.count == 2 else { throw c.bad("zone \"\(item)\" must be access/size") }
                let acc: Int? = f[0].isEmpty ? nil : Int(f[0])
                if !f[0].isEmpty && acc == nil { throw c.bad("bad access percentage \"\(f[0])\"") }
                var sz: UInt64?
                if !f[1].isEmpty {
                    if absolute {
                        guard let v = FioValue.size(f[1], kbBase: kbBase) else { throw c.bad("bad zone size \"\(f[1])\"") }
                        sz = v
                    } else {
                        guard let v = UInt64(f[1]), v <= 100 else { throw c.bad("bad zone size percentage \"\(f[1])\"") }
                        sz = v
                    }
                }
                zones.append((acc, sz))
            }
            let acc = zones.compactMap(\.0).reduce(0, +)
            let accMissing = zones.filter { $0.0 == nil }.count
            let sperc = absolute ? 0 : zones.compactMap(\.1).reduce(0, +)
            let sMissing = zones.filter { $0.1 == nil }.count
            if acc > 100 || sperc > 100 { throw c.bad("zone percentages add to more than 100%") }
            if acc < 100 && accMissing == 0 { throw c.bad("access percentages don't add up to 100 (got \(acc))") }
            if absolute && sMissing > 0 { throw c.bad("every zoned_abs zone needs a size") }
            let fillAcc = accMissing > 0 ? (100 - UInt64(acc)) / UInt64(accMissing) : 0
            let fillSize = sMissing > 0 ? (100 - sperc) / UInt64(sMissing) : 0
            lists.append(ZoneSplit(zones.map { ZoneSplit.Zone(access: $0.0 ?? Int(fillAcc), size: $0.1 ?? fillSize) }))
        }
        let r = lists[0] ?? ZoneSplit([])
        let w = lists.count > 1 ? (lists[1] ?? ZoneSplit([])) : r
        let tr = lists.count > 2 ? (lists[2] ?? ZoneSplit([])) : w
        return .zoned(PerDirection(read: r, write: w, trim: tr), absolute: absolute)
    }
    let parts = t.split(separator: ":").map(String.init)
    let kind = parts.first ?? "" // ":" alone splits into nothing
    var val: Double?
    var center: Double?
    if parts.count > 1 {
        guard let v = Double(parts[1]) else { throw c.bad("bad distribution parameter \"\(parts[1])\"") }
        val = v
    }
    if parts.count > 2 {
        guard let v = Double(parts[2]), v >= 0, v <= 1 else { throw c.bad("distribution center must be in 0...1") }
        center = v
    }
    if parts.count > 3 { throw c.bad("too many fields") }
    switch kind {
    case "zipf":
        let theta = val ?? 1.1
        if theta == 1.0 || theta <= 0 { throw c.bad("zipf theta must be > 0 and different from 1.0") }
        return .ranked(.zipf(theta: theta), center: center)
    case "pareto":
        let h = val ?? 0.2
        if h <= 0 || h >= 1 { throw c.bad("pareto input out of range (0 < input < 1.0)") }
        return .ranked(.pareto(h: h), center: center)
    case "normal", "gauss":
        let d = val ?? 0
        if d < 0 || d >= 100 { throw c.bad("normal deviation out of range (0 <= input < 100.0)") }
        return .ranked(.normal(dev: d), center: center)
    default:
        throw c.bad("expected random, zipf, pareto, normal, zoned or zoned_abs")
    }
}
