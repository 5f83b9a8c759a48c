import Packet
import Testing

@Suite("Addresses")
struct AddressTests {
    @Test("IPv6 text is RFC 5952 canonical", arguments: [
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),        // first of two equal runs
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),     // a single zero group stays
        ("2001:db8:0:0:0:1:0:0", "2001:db8::1:0:0"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("::1", "::1"),
        ("fe80::", "fe80::"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),                    // the longest run wins
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("2001:DB8::ABCD", "2001:db8::abcd"),
        ("ff02::1:ff00:1", "ff02::1:ff00:1"),
    ])
    func ipv6Canonical(input: String, expected: String) throws {
        let address = try #require(IPv6Address(input))
        #expect(address.description == expected)
        #expect(IPv6Address(expected) == address)
    }

    @Test("IPv6 rejects malformed text", arguments: [
        "", ":", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "g::1", "1:", "::1.2.3",
        "::1.2.3.04",
    ])
    func ipv6Rejects(input: String) {
        #expect(IPv6Address(input) == nil)
    }

    @Test func ipv4RoundTrip() throws {
        for text in ["0.0.0.0", "192.0.2.1", "255.255.255.255", "10.0.0.10"] {
            #expect(try #require(IPv4Address(text)).description == text)
        }
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "a.b.c.d", "1..2.3", "1.2.3.4 "] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
        #expect(IPv4Address(192, 0, 2, 1).rawValue == 0xC000_0201)
    }

    @Test func macRoundTrip() throws {
        let mac = try #require(MACAddress("02:00:5E:10:00:01"))
        #expect(mac.description == "02:00:5e:10:00:01")
        #expect(mac.octets == [2, 0, 0x5E, 0x10, 0, 1])
        #expect(!mac.isMulticast)
        #expect(MACAddress.broadcast.isMulticast)
        #expect(MACAddress("02:00:5e:10:00") == nil)
        #expect(MACAddress("02:00:5e:10:00:1ff") == nil)
        var bytes = [UInt8](repeating: 0, count: 8)
        bytes.withUnsafeMutableBytes { mac.write(to: $0, at: 1) }
        #expect(bytes == [0, 2, 0, 0x5E, 0x10, 0, 1, 0])
    }
}
