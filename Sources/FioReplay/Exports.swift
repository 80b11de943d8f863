@_exported import FioTrace
