/// How to make one engine, and the names users call it by.
public struct EngineDescriptor: Sendable {
    /// Our name, with fio's spelling ("io_uring").
    public let name: String
    /// Other spellings `--engine` accepts ("iouring").
    public let aliases: [String]
    /// fio `ioengine=` names this engine runs as (fio's sync family all become psync).
    public let fioNames: [String]
    /// Tried by `--engine auto`, in registry order.
    public let automatic: Bool
    /// Creates the engine for `depth` in-flight I/Os; throws `.engineUnavailable` with why.
    public let make: @Sendable (_ depth: Int) throws -> any IOEngine

    public init(name: String, aliases: [String] = [], fioNames: [String], automatic: Bool,
                make: @escaping @Sendable (_ depth: Int) throws -> any IOEngine) {
        self.name = name
        self.aliases = aliases
        self.fioNames = fioNames
        self.automatic = automatic
        self.make = make
    }
}

/// Every engine, in the order `auto` tries them. Adding an engine: one new file under
/// Engines/ (a final class conforming to `IOEngine` with a `static let descriptor`), and one
/// line here.
public enum EngineRegistry {
    public static let engines: [EngineDescriptor] = [
        IOUringEngine.descriptor,
        LibAIOEngine.descriptor,
        PSyncEngine.descriptor,
        NullEngine.descriptor,
    ]

    /// The engine called `name` (our name or an alias), nil when unknown.
    public static func descriptor(named name: String) -> EngineDescriptor? {
        engines.first { $0.name == name || $0.aliases.contains(name) }
    }

    /// The engine that runs fio's `ioengine=name`, nil when none does.
    public static func descriptor(fioName name: String) -> EngineDescriptor? {
        let n = name.lowercased()
        return engines.first { $0.fioNames.contains(n) }
    }

    /// Every fio `ioengine=` name some engine runs as, for messages.
    public static var fioChoices: String { engines.flatMap(\.fioNames).joined(separator: ", ") }

    /// "auto, io_uring, libaio, psync, null": for help texts and messages.
    public static var choices: String { (["auto"] + engines.map(\.name)).joined(separator: ", ") }
}

/// Which engine to use: `auto` or one of the registry's engines, by its name.
public struct EngineKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The registry name ("io_uring"), or "auto".
    public let rawValue: String

    /// Accepts "auto", an engine's name or one of its aliases; nil otherwise.
    public init?(rawValue: String) {
        if rawValue == "auto" { self.rawValue = rawValue; return }
        guard let d = EngineRegistry.descriptor(named: rawValue) else { return nil }
        self.rawValue = d.name
    }

    /// The engine for fio's `ioengine=` name (psync for fio's sync family), nil when none.
    public init?(fioName: String) {
        guard let d = EngineRegistry.descriptor(fioName: fioName) else { return nil }
        rawValue = d.name
    }

    public static let auto = EngineKind(rawValue: "auto")!
    public static let null = EngineKind(rawValue: "null")!
    public static let psync = EngineKind(rawValue: "psync")!
    public static let libaio = EngineKind(rawValue: "libaio")!
    public static let iouring = EngineKind(rawValue: "io_uring")!

    public var description: String { rawValue }
}

/// Creates an engine for `depth` in-flight I/Os. `.auto` tries the registry's automatic
/// engines in order (io_uring, libaio, psync) and reports each reason to fall back through
/// `note` (one line each).
public func makeEngine(_ kind: EngineKind, depth: Int, note: (String) -> Void = { _ in }) throws -> any IOEngine {
    if kind != .auto {
        guard let d = EngineRegistry.descriptor(named: kind.rawValue) else {
            throw ReplayError(.engineUnavailable, "unknown engine \(kind) (known: \(EngineRegistry.choices))")
        }
        return try d.make(depth)
    }
    let candidates = EngineRegistry.engines.filter(\.automatic)
    for (i, d) in candidates.enumerated() {
        do {
            return try d.make(depth)
        } catch let e as ReplayError where i + 1 < candidates.count {
            note("\(d.name) unavailable (\(e.message)); trying \(candidates[i + 1].name)")
        }
    }
    throw ReplayError(.engineUnavailable, "no engine could be started")
}
