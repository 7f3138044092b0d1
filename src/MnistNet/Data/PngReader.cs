using System.Buffers.Binary;
using System.IO.Compression;

namespace MnistNet.Data;

/// <summary>
/// A strict PNG decoder for grey levels (PNG specification, ISO/IEC 15948): every chunk's CRC is checked, the image data
/// must inflate to exactly the size the header states, and anything unsupported (interlacing) is refused by name.
/// </summary>
internal static class PngReader
{
    public static ReadOnlySpan<byte> Signature => [137, 80, 78, 71, 13, 10, 26, 10];

    public static GreyImage Decode(ReadOnlySpan<byte> bytes, string source)
    {
        int position = Signature.Length;
        int width = 0, height = 0, depth = 0, colorType = -1;
        byte[]? palette = null;
        byte[]? paletteAlpha = null;
        using var data = new MemoryStream();
        bool ended = false;
        while (!ended)
        {
            if (bytes.Length - position < 12)
            {
                throw Bad(source, "the file ends inside a chunk (truncated)");
            }

            uint length = BinaryPrimitives.ReadUInt32BigEndian(bytes[position..]);
            if (length > bytes.Length - position - 12)
            {
                throw Bad(source, $"a chunk claims {length} bytes but only {bytes.Length - position - 12} remain (truncated)");
            }

            ReadOnlySpan<byte> typeAndData = bytes.Slice(position + 4, 4 + (int)length);
            string type = System.Text.Encoding.ASCII.GetString(typeAndData[..4]);
            ReadOnlySpan<byte> chunk = typeAndData[4..];
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(bytes[(position + 8 + (int)length)..]);
            if (Crc32(typeAndData) != crc)
            {
                throw Bad(source, $"chunk {type} fails its CRC check (damaged file)");
            }

            position += 12 + (int)length;
            if (width == 0 && type != "IHDR")
            {
                throw Bad(source, $"the first chunk is {type}, not IHDR");
            }

            switch (type)
            {
                case "IHDR":
                    if (length != 13)
                    {
                        throw Bad(source, $"IHDR has {length} bytes, expected 13");
                    }

                    uint w = BinaryPrimitives.ReadUInt32BigEndian(chunk);
                    uint h = BinaryPrimitives.ReadUInt32BigEndian(chunk[4..]);
                    if (w == 0 || h == 0 || (ulong)w * h > DigitImage.MaxPixels)
                    {
                        throw Bad(source, $"{w} × {h} pixels; images of 1 to {DigitImage.MaxPixels} pixels are read");
                    }

                    width = (int)w;
                    height = (int)h;
                    depth = chunk[8];
                    colorType = chunk[9];
                    if (!ValidDepth(colorType, depth))
                    {
                        throw Bad(source, $"colour type {colorType} with bit depth {depth} is not a valid PNG combination");
                    }

                    if (chunk[10] != 0 || chunk[11] != 0)
                    {
                        throw Bad(source, "unknown compression or filter method");
                    }

                    if (chunk[12] != 0)
                    {
                        throw Bad(source, "interlaced (Adam7) PNGs are not supported; save the image without interlacing");
                    }

                    break;
                case "PLTE":
                    palette = chunk.ToArray();
                    break;
                case "tRNS":
                    paletteAlpha = chunk.ToArray();
                    break;
                case "IDAT":
                    data.Write(chunk);
                    break;
                case "IEND":
                    ended = true;
                    break;
                default:
                    if ((typeAndData[0] & 0x20) == 0)
                    {
                        throw Bad(source, $"unknown critical chunk {type}");
                    }

                    break; // ancillary chunks (text, gamma, …) are skipped
            }
        }

        if (colorType == 3 && (palette is null || palette.Length % 3 != 0))
        {
            throw Bad(source, "a palette image without a valid PLTE chunk");
        }

        int channels = colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };
        int bitsPerPixel = channels * depth;
        int rowBytes = (int)(((long)width * bitsPerPixel + 7) / 8);
        int filterStride = Math.Max(1, bitsPerPixel / 8);
        // Deflate expands at most about 1 032 : 1, so compressed data this small cannot hold the declared image: refuse
        // before allocating for it (a 100-byte file must not make us allocate what its header claims).
        long expected = (long)height * (rowBytes + 1);
        if (expected > (data.Length * 1100L) + 4096)
        {
            throw Bad(source, $"{data.Length} bytes of compressed image data cannot hold the {width} × {height} pixels the header declares (truncated, or a forged header)");
        }

        byte[] raw = Inflate(data, expected, source);
        Unfilter(raw, height, rowBytes, filterStride, source);

        float[] grey = new float[width * height];
        int maxValue = (1 << depth) - 1;
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> row = raw.AsSpan((y * (rowBytes + 1)) + 1, rowBytes);
            for (int x = 0; x < width; x++)
            {
                float value;
                float alpha = 1;
                switch (colorType)
                {
                    case 0:
                        value = (float)Sample(row, x, depth) / maxValue;
                        break;
                    case 3:
                        int index = Sample(row, x, depth);
                        if (index * 3 + 2 >= palette!.Length)
                        {
                            throw Bad(source, $"pixel ({x}, {y}) uses palette entry {index}, but the palette has {palette.Length / 3}");
                        }

                        value = Luma(palette[index * 3], palette[(index * 3) + 1], palette[(index * 3) + 2], 255);
                        alpha = paletteAlpha is not null && index < paletteAlpha.Length ? paletteAlpha[index] / 255f : 1;
                        break;
                    default:
                        int c = x * channels;
                        int r = Sample(row, c, depth);
                        if (colorType == 4)
                        {
                            value = (float)r / maxValue;
                            alpha = (float)Sample(row, c + 1, depth) / maxValue;
                        }
                        else
                        {
                            value = Luma(r, Sample(row, c + 1, depth), Sample(row, c + 2, depth), maxValue);
                            alpha = colorType == 6 ? (float)Sample(row, c + 3, depth) / maxValue : 1;
                        }

                        break;
                }

                // Transparent pixels show the white page beneath.
                grey[(y * width) + x] = Math.Clamp((value * alpha) + (1 - alpha), 0, 1);
            }
        }

        return new GreyImage(width, height, grey);
    }

    /// <summary>Writes a PNG from filtered scanlines (each row starts with its filter byte): IHDR, one IDAT, IEND.</summary>
    internal static byte[] Encode(int width, int height, int bitDepth, int colorType, ReadOnlySpan<byte> scanlines, ReadOnlySpan<byte> palette = default)
    {
        using var output = new MemoryStream();
        output.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)height);
        header[8] = (byte)bitDepth;
        header[9] = (byte)colorType;
        WriteChunk(output, "IHDR", header);
        if (!palette.IsEmpty)
        {
            WriteChunk(output, "PLTE", palette);
        }

        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                zlib.Write(scanlines);
            }

            WriteChunk(output, "IDAT", compressed.ToArray());
        }

        WriteChunk(output, "IEND", default);
        return output.ToArray();
    }

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        byte[] typeAndData = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type, typeAndData);
        data.CopyTo(typeAndData.AsSpan(4));
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        output.Write(word);
        output.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
        output.Write(word);
    }

    private static bool ValidDepth(int colorType, int depth) => colorType switch
    {
        0 => depth is 1 or 2 or 4 or 8 or 16,
        3 => depth is 1 or 2 or 4 or 8,
        2 or 4 or 6 => depth is 8 or 16,
        _ => false,
    };

    /// <summary>Sample <paramref name="index"/> of a row of samples of <paramref name="depth"/> bits, big-endian as PNG stores them.</summary>
    private static int Sample(ReadOnlySpan<byte> row, int index, int depth) => depth switch
    {
        16 => BinaryPrimitives.ReadUInt16BigEndian(row[(index * 2)..]),
        8 => row[index],
        _ => (row[index * depth / 8] >> (8 - depth - (index * depth % 8))) & ((1 << depth) - 1),
    };

    private static float Luma(int r, int g, int b, int max) => (float)(((0.299 * r) + (0.587 * g) + (0.114 * b)) / max);

    private static byte[] Inflate(MemoryStream data, long expected, string source)
    {
        byte[] raw = new byte[expected];
        data.Position = 0;
        try
        {
            using var zlib = new ZLibStream(data, CompressionMode.Decompress);
            int read = 0;
            while (read < raw.Length)
            {
                int n = zlib.Read(raw, read, raw.Length - read);
                if (n == 0)
                {
                    throw Bad(source, $"the image data inflates to {read} bytes, but the header needs {expected} (truncated)");
                }

                read += n;
            }
        }
        catch (InvalidDataException ex) when (!ex.Message.StartsWith(source, StringComparison.Ordinal))
        {
            throw Bad(source, $"the image data is not valid zlib ({ex.Message})");
        }

        return raw;
    }

    private static void Unfilter(byte[] raw, int height, int rowBytes, int stride, string source)
    {
        for (int y = 0; y < height; y++)
        {
            int start = y * (rowBytes + 1);
            byte filter = raw[start];
            Span<byte> row = raw.AsSpan(start + 1, rowBytes);
            ReadOnlySpan<byte> above = y == 0 ? default : raw.AsSpan(start - rowBytes, rowBytes);
            for (int i = 0; i < row.Length; i++)
            {
                int a = i >= stride ? row[i - stride] : 0;
                int b = y == 0 ? 0 : above[i];
                int c = y == 0 || i < stride ? 0 : above[i - stride];
                row[i] = filter switch
                {
                    0 => row[i],
                    1 => (byte)(row[i] + a),
                    2 => (byte)(row[i] + b),
                    3 => (byte)(row[i] + ((a + b) >> 1)),
                    4 => (byte)(row[i] + Paeth(a, b, c)),
                    _ => throw Bad(source, $"row {y} has unknown filter type {filter}"),
                };
            }
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>The CRC-32 PNG chunks carry.</summary>
    internal static uint Crc32(ReadOnlySpan<byte> bytes) => Data.Crc32.Update(0xFFFFFFFFu, bytes) ^ 0xFFFFFFFFu;

    private static InvalidDataException Bad(string source, string problem) => new($"{source}: {problem}.");
}

/// <summary>A netpbm greymap reader: P5 (binary, 8 or 16 bits) and P2 (text).</summary>
internal static class PgmReader
{
    public static GreyImage Decode(ReadOnlySpan<byte> bytes, string source)
    {
        bool binary = bytes[1] == (byte)'5';
        int position = 2;
        int width = Header(bytes, ref position, source, "width");
        int height = Header(bytes, ref position, source, "height");
        int max = Header(bytes, ref position, source, "maximum value");
        if (width < 1 || height < 1 || (long)width * height > DigitImage.MaxPixels)
        {
            throw new InvalidDataException($"{source}: {width} × {height} pixels; images of 1 to {DigitImage.MaxPixels} pixels are read.");
        }

        if (max < 1 || max > 65535)
        {
            throw new InvalidDataException($"{source}: maximum value {max}; expected 1 to 65535.");
        }

        // Check that the pixels can be there before allocating for them (the header alone may claim 16 M pixels).
        long pixels = (long)width * height;
        if (binary)
        {
            position++; // the single whitespace after the maximum value
            int size = max < 256 ? 1 : 2;
            if (bytes.Length - position < pixels * size)
            {
                throw new InvalidDataException($"{source}: {Math.Max(0, bytes.Length - position)} bytes of pixels, expected {pixels * size} (truncated).");
            }
        }
        else if (bytes.Length - position < (2 * pixels) - 1)
        {
            throw new InvalidDataException($"{source}: {Math.Max(0, bytes.Length - position)} bytes left for {pixels} text pixels, which need at least {(2 * pixels) - 1} (truncated).");
        }

        float[] grey = new float[width * height];
        if (binary)
        {
            int size = max < 256 ? 1 : 2;

            for (int i = 0; i < grey.Length; i++)
            {
                int v = size == 1 ? bytes[position + i] : BinaryPrimitives.ReadUInt16BigEndian(bytes[(position + (2 * i))..]);
                grey[i] = Level(v, max, source, i);
            }
        }
        else
        {
            for (int i = 0; i < grey.Length; i++)
            {
                grey[i] = Level(Header(bytes, ref position, source, $"pixel {i}"), max, source, i);
            }
        }

        return new GreyImage(width, height, grey);
    }

    private static float Level(int value, int max, string source, int index) => value <= max
        ? (float)value / max
        : throw new InvalidDataException($"{source}: pixel {index} is {value}, above the maximum value {max}.");

    /// <summary>Reads one decimal number, skipping whitespace and # comments.</summary>
    private static int Header(ReadOnlySpan<byte> bytes, ref int position, string source, string what)
    {
        while (position < bytes.Length && (char.IsWhiteSpace((char)bytes[position]) || bytes[position] == (byte)'#'))
        {
            if (bytes[position] == (byte)'#')
            {
                while (position < bytes.Length && bytes[position] != (byte)'\n')
                {
                    position++;
                }
            }
            else
            {
                position++;
            }
        }

        long value = 0;
        int start = position;
        while (position < bytes.Length && bytes[position] >= (byte)'0' && bytes[position] <= (byte)'9' && value <= int.MaxValue)
        {
            value = (value * 10) + (bytes[position++] - '0');
        }

        if (position == start || value > int.MaxValue)
        {
            throw new InvalidDataException($"{source}: expected the {what} as a decimal number at byte {start}.");
        }

        return (int)value;
    }
}
