/// Link impairment through netem (delay, jitter, loss) and tbf (rate).
public struct Impairment: Sendable, Equatable {
    /// Microseconds.
    public var delay: Int?
    /// Microseconds.
    public var jitter: Int?
    /// Percent, 0...100.
    public var loss: Double?
    /// Bits per second.
    public var rate: Int?

    public init(delay: Int? = nil, jitter: Int? = nil, loss: Double? = nil, rate: Int? = nil) {
        self.delay = delay
        self.jitter = jitter
        self.loss = loss
        self.rate = rate
    }

    public var isEmpty: Bool { delay == nil && jitter == nil && loss == nil && rate == nil }
}
