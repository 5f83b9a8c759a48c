import ConfigFile
import Netlink

/// Impairment values from command-line text, with the units of topology files.
public enum ImpairmentText {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public static func parse(delay: String?, jitter: String?, loss: String?, rate: String?) throws(Invalid) -> Impairment {
        var result = Impairment()
        if let delay {
            guard let value = Units.microseconds(delay) else { throw Invalid(description: "'\(delay)' is not a duration (like 10ms)") }
            result.delay = value
        }
        if let jitter {
            guard let value = Units.microseconds(jitter) else { throw Invalid(description: "'\(jitter)' is not a duration (like 2ms)") }
            result.jitter = value
        }
        if let loss {
            guard let value = Units.percent(loss), (0...100).contains(value) else {
                throw Invalid(description: "'\(loss)' is not a percentage (like 1%)")
            }
            result.loss = value
        }
        if let rate {
            guard let value = Units.bitsPerSecond(rate) else { throw Invalid(description: "'\(rate)' is not a rate (like 10mbit)") }
            result.rate = value
        }
        return result
    }
}
