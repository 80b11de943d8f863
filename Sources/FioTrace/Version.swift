/// The toolkit's version, printed by `--version` of both tools and in the reports'
/// "fio version" field.
public let fioTraceVersion = "0.1"
