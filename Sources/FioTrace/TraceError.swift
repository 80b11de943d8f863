/// The one error type of FioTrace. `description` is a single line a user can act on:
/// it names the file, and where it applies the line, block, byte offset or record range.
public struct TraceError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The file does not exist or cannot be opened.
        case cannotOpen
        /// A read or write failed (errno in the message).
        case io
        /// The content matches no format we read.
        case unknownFormat
        /// A binary file whose magic number is not the expected one.
        case badMagic
        /// A native trace written by a newer, incompatible version.
        case unsupportedVersion
        /// The file ends in the middle of a header, block or record.
        case truncated
        /// A block whose checksum, length or content is wrong.
        case corruptBlock
        /// A text line that does not parse.
        case malformedLine
        /// Input that parses but breaks the format's rules (I/O on a file never added).
        case invalidSequence
        /// A request the format or tool cannot honour (writing blktrace, a bad filter).
        case unsupported
        /// A compressed stream that does not decompress.
        case decompression
    }

    /// What the user could supply to get past the error. The library does not know the
    /// command line: a front end names its own option for it.
    public enum Remedy: Sendable, Equatable {
        /// The content and name did not tell the input's format: name it.
        case nameTheFormat
        /// The generator's timing model needs a service time above zero.
        case serviceTime
    }

    public var kind: Kind
    public var message: String
    public var remedy: Remedy?
    /// For `.corruptBlock`: the zero-based block number, its byte offset and its records.
    public var block: Int?
    public var byteOffset: UInt64?
    public var recordRange: Range<UInt64>?

    public init(_ kind: Kind, _ message: String, remedy: Remedy? = nil, block: Int? = nil, byteOffset: UInt64? = nil,
                recordRange: Range<UInt64>? = nil) {
        self.kind = kind
        self.message = message
        self.remedy = remedy
        self.block = block
        self.byteOffset = byteOffset
        self.recordRange = recordRange
    }

    /// The message with control characters from the input (CR, VT, FF, ESC, NUL...) written
    /// as escapes: quoted input cannot split the line or drive the terminal.
    public var description: String { message.escapingControlCharacters }
}
