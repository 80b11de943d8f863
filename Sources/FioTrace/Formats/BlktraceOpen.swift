// Provisional until Blktrace.swift lands in this session.
func openBlktrace(path: String, dispatch: Bool) throws -> any TraceSource {
    throw TraceError(.unsupported, "\(path): blktrace reading is not built yet")
}
