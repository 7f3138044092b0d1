namespace MnistNet.Data;

/// <summary>The element type code of an IDX file (byte 2 of its magic number).</summary>
public enum IdxElementType : byte
{
    /// <summary>0x08: unsigned byte (<see cref="byte"/>); MNIST's type.</summary>
    UnsignedByte = 0x08,

    /// <summary>0x09: signed byte (<see cref="sbyte"/>).</summary>
    SignedByte = 0x09,

    /// <summary>0x0B: big-endian 16-bit integer (<see cref="short"/>).</summary>
    Int16 = 0x0B,

    /// <summary>0x0C: big-endian 32-bit integer (<see cref="int"/>).</summary>
    Int32 = 0x0C,

    /// <summary>0x0D: big-endian 32-bit IEEE float (<see cref="float"/>).</summary>
    Single = 0x0D,

    /// <summary>0x0E: big-endian 64-bit IEEE float (<see cref="double"/>).</summary>
    Double = 0x0E,
}
