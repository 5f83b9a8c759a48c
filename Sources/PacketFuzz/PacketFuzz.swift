import Decode
import Packet

/// libFuzzer entry point: walk the input as every link type, read every field, verify every
/// checksum and format it both ways. Any trap or out-of-bounds read is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    PacketFuzzHarness.exercise(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

#if FUZZING
typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: FuzzCallback) -> CInt

@_cdecl("PacketFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzOne)
}
#else
@main
enum PacketFuzzStub {
    static func main() {
        print("PacketFuzz is a libFuzzer target: build and run it with scripts/fuzz.sh")
    }
}
#endif
