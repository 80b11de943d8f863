/// fio's default random seed (`FIO_RANDSEED`), used when neither `--seed` nor `randseed`
/// is given and `randrepeat` is on (fio's default).
public let fioDefaultSeed: UInt64 = 0xb189_9bed

/// How the generator stamps issue times.
public struct GeneratorOptions: Sendable, Equatable {
    public enum Timing: Sendable, Equatable {
        /// The service-time model (the default). Each job is a closed loop at its iodepth
        /// on a device that serves every data I/O in `serviceTime + length / bandwidth`
        /// nanoseconds (no bandwidth term when nil) and never queues between jobs:
        /// - an unthrottled I/O is issued when the I/O `iodepth` places before it
        ///   completes (completions in issue order), so a QD1 job at the default 100 µs
        ///   issues 10,000 I/Os per second;
        /// - a rate-limited direction (`rate`, `rate_iops`) follows its schedule exactly:
        ///   linear (`bytes issued so far / rate`) or poisson (exponential gaps with mean
        ///   `min bs / rate`), per direction, as fio computes it;
        /// - a sync waits for every I/O in flight, then takes `serviceTime`;
        /// - `thinktime` waits for every I/O in flight, then the think time, after every
        ///   `thinktime_blocks` I/Os; `startdelay` shifts the job; a `stonewall` job
        ///   starts when every job before it has completed its last I/O.
        case serviceModel(serviceTime: UInt64, bytesPerSecond: UInt64?)
        /// No times: every record is at time 0 (the model above still decides `runtime`
        /// cut-offs and the order in which jobs interleave).
        case none
    }

    /// Overrides every job's `randseed`. nil: `randseed`, else fio's default seed
    /// (or, with `randrepeat=0`, a seed from the clock, recorded in the metadata).
    public var seed: UInt64?
    public var timing: Timing
    /// The job text to keep in the metadata (`fio-gen.job`).
    public var jobText: String?
    /// Leave `runtime=` to the consumer: the model never ends a job at its runtime, and a
    /// `time_based` job repeats its region forever. A live run sets this and stops each
    /// stream by the wall clock instead of the model's clock.
    public var runtimeByConsumer = false

    public static let defaultServiceTime: UInt64 = 100_000

    public init(seed: UInt64? = nil, timing: Timing = .serviceModel(serviceTime: defaultServiceTime, bytesPerSecond: nil),
                jobText: String? = nil) {
        self.seed = seed
        self.timing = timing
        self.jobText = jobText
    }
}
