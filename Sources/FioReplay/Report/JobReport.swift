/// One job of a report: a replay, one stream of a live run, or (with `group_reporting`) a
/// group of streams merged. The reports print fio's per-job sections from these and fio's
/// per-group "Run status" lines over the jobs of each group.
public struct JobReport {
    /// Index of the (first) job in the run's job list (0 for a replay).
    public var jobIndex: Int
    public var name: String
    /// fio's group id.
    public var group: Int
    /// Streams merged into this result (1 unless `group_reporting`).
    public var jobs: Int
    public var result: ReplayResult
    /// The job's options as fio's JSON prints them in "job options".
    public var options: [String: String]
    /// What verify found (a `verify` object under the job), when the job verified.
    public var verify: VerifyResults?
    /// fio's percentile_list (sorted), and the decimals its text report shows them with;
    /// nil: fio's default list (`fioPercentiles`, 2 decimals).
    public var percentiles: [Double]?
    public var percentilePrecision = 2

    public init(jobIndex: Int = 0, name: String, group: Int = 0, jobs: Int = 1, result: ReplayResult,
                options: [String: String] = [:], verify: VerifyResults? = nil) {
        self.jobIndex = jobIndex
        self.name = name
        self.group = group
        self.jobs = jobs
        self.result = result
        self.options = options
        self.verify = verify
    }
}
