namespace MnistNet.Data;

/// <summary>A grey image: <see cref="Width"/> × <see cref="Height"/> levels in [0, 1] (0 black, 1 white), row by row.</summary>
public sealed class GreyImage
{
    /// <summary>Wraps grey levels.</summary>
    /// <param name="width">Columns (≥ 1).</param>
    /// <param name="height">Rows (≥ 1).</param>
    /// <param name="pixels">width × height levels in [0, 1], row by row; kept, not copied.</param>
    /// <exception cref="ArgumentException">The sizes do not match, or a level is outside [0, 1].</exception>
    public GreyImage(int width, int height, float[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.Length != (long)width * height)
        {
            throw new ArgumentException($"Expected {width} × {height} = {(long)width * height} levels, got {pixels.Length}.", nameof(pixels));
        }

        for (int i = 0; i < pixels.Length; i++)
        {
            if (!(pixels[i] >= 0 && pixels[i] <= 1))
            {
                throw new ArgumentException($"Level {i} is {pixels[i]}; expected a value in [0, 1].", nameof(pixels));
            }
        }

        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Gets the number of columns.</summary>
    public int Width { get; }

    /// <summary>Gets the number of rows.</summary>
    public int Height { get; }

    /// <summary>Gets the levels, row by row (0 black, 1 white).</summary>
    public float[] Pixels { get; }

    /// <summary>Gets the level at column <paramref name="x"/>, row <paramref name="y"/>.</summary>
    /// <param name="x">Column.</param>
    /// <param name="y">Row.</param>
    public float this[int x, int y] => Pixels[(y * Width) + x];

    /// <summary>Encodes the image as an 8-bit grey PNG (levels rounded to 0–255).</summary>
    /// <returns>The PNG file's bytes.</returns>
    public byte[] ToPng()
    {
        byte[] scanlines = new byte[Height * (Width + 1)];
        for (int y = 0; y < Height; y++)
        {
            for (int x = 0; x < Width; x++)
            {
                scanlines[(y * (Width + 1)) + 1 + x] = (byte)Math.Round(this[x, y] * 255);
            }
        }

        return PngReader.Encode(Width, Height, bitDepth: 8, colorType: 0, scanlines);
    }
}

/// <summary>
/// Turns a picture of one handwritten digit into the 784 inputs an MNIST network expects, the way MNIST itself was made:
/// ink bright on a dark background (inverted when the picture is dark ink on a light background), cropped to the
/// ink's bounding box, scaled to fit 20 × 20 keeping its aspect ratio, and placed in 28 × 28 with its centre of mass
/// at the centre.
/// </summary>
public static class DigitImage
{
    /// <summary>The side of the images MNIST networks take.</summary>
    public const int Side = 28;

    /// <summary>The side of the box the digit is scaled to fit, inside <see cref="Side"/>.</summary>
    public const int Box = 20;

    /// <summary>Reads a PNG (8 or 16 bits; grey, grey + alpha, RGB, RGBA or palette) or a PGM (P2/P5) file as grey levels; transparency is composited over white.</summary>
    /// <param name="path">The image file.</param>
    /// <returns>The picture's grey levels.</returns>
    /// <exception cref="InvalidDataException">The file is not a PNG or PGM this reader supports, or is damaged; the message names the file and the problem.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static GreyImage Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"Image file '{path}' not found.", path);
        }

        if (info.Length > MaxFileBytes)
        {
            throw new InvalidDataException($"{path}: {info.Length} bytes; images up to {MaxFileBytes} bytes are read.");
        }

        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>Decodes PNG or PGM bytes as grey levels (see <see cref="Load"/>).</summary>
    /// <param name="bytes">The file's bytes.</param>
    /// <param name="source">A name for error messages.</param>
    /// <returns>The picture's grey levels.</returns>
    /// <exception cref="InvalidDataException">The bytes are not a supported PNG or PGM, or are damaged.</exception>
    public static GreyImage Decode(ReadOnlySpan<byte> bytes, string source = "image")
    {
        ArgumentNullException.ThrowIfNull(source);
        if (bytes.StartsWith(PngReader.Signature))
        {
            return PngReader.Decode(bytes, source);
        }

        if (bytes.Length >= 2 && bytes[0] == (byte)'P' && (bytes[1] == (byte)'2' || bytes[1] == (byte)'5'))
        {
            return PgmReader.Decode(bytes, source);
        }

        throw new InvalidDataException($"{source}: not a PNG or PGM (P2/P5) image.");
    }

    /// <summary>The largest image file read: 16 MB.</summary>
    public const int MaxFileBytes = 16 << 20;

    /// <summary>The largest image decoded: 4 096 × 4 096 pixels.</summary>
    public const int MaxPixels = 4096 * 4096;

    /// <summary>Preprocesses a picture of one digit into MNIST's form: 784 levels in [0, 1], ink = 1, row by row.</summary>
    /// <param name="image">The picture, any size, dark ink on light or light ink on dark.</param>
    /// <returns>28 × 28 levels; all zero when the picture has no ink.</returns>
    public static float[] ToMnist(GreyImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int w = image.Width;
        int h = image.Height;

        // Ink is bright: invert when the border (the background) is mostly light.
        double border = 0;
        int borderCount = 0;
        for (int x = 0; x < w; x++)
        {
            border += image[x, 0] + image[x, h - 1];
            borderCount += 2;
        }

        for (int y = 0; y < h; y++)
        {
            border += image[0, y] + image[w - 1, y];
            borderCount += 2;
        }

        bool invert = border / borderCount > 0.5;
        float[] ink = new float[w * h];
        float background = float.MaxValue;
        for (int i = 0; i < ink.Length; i++)
        {
            ink[i] = invert ? 1 - image.Pixels[i] : image.Pixels[i];
        }

        // Remove a uniform background level (a grey page), then crop to what is clearly ink.
        for (int x = 0; x < w; x++)
        {
            background = Math.Min(background, Math.Min(ink[x], ink[((h - 1) * w) + x]));
        }

        for (int y = 0; y < h; y++)
        {
            background = Math.Min(background, Math.Min(ink[y * w], ink[(y * w) + w - 1]));
        }

        float peak = 0;
        for (int i = 0; i < ink.Length; i++)
        {
            ink[i] = Math.Max(0, ink[i] - background);
            peak = Math.Max(peak, ink[i]);
        }

        float[] result = new float[Side * Side];
        if (peak <= 0)
        {
            return result;
        }

        float threshold = 0.1f * peak;
        int left = w, right = -1, top = h, bottom = -1;
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                if (ink[(y * w) + x] > threshold)
                {
                    left = Math.Min(left, x);
                    right = Math.Max(right, x);
                    top = Math.Min(top, y);
                    bottom = Math.Max(bottom, y);
                }
            }
        }

        int cropW = right - left + 1;
        int cropH = bottom - top + 1;
        double scale = (double)Box / Math.Max(cropW, cropH);
        int boxW = Math.Max(1, (int)Math.Round(cropW * scale));
        int boxH = Math.Max(1, (int)Math.Round(cropH * scale));

        // Area-averaged resampling of the crop into boxW × boxH (each target pixel averages the source area it covers).
        float[] small = new float[boxW * boxH];
        double sx = (double)cropW / boxW;
        double sy = (double)cropH / boxH;
        for (int ty = 0; ty < boxH; ty++)
        {
            double y0 = ty * sy, y1 = (ty + 1) * sy;
            for (int tx = 0; tx < boxW; tx++)
            {
                double x0 = tx * sx, x1 = (tx + 1) * sx;
                double sum = 0, area = 0;
                for (int y = (int)y0; y < Math.Min(cropH, (int)Math.Ceiling(y1)); y++)
                {
                    double wy = Math.Min(y1, y + 1) - Math.Max(y0, y);
                    for (int x = (int)x0; x < Math.Min(cropW, (int)Math.Ceiling(x1)); x++)
                    {
                        double wx = Math.Min(x1, x + 1) - Math.Max(x0, x);
                        sum += wx * wy * ink[((top + y) * w) + left + x];
                        area += wx * wy;
                    }
                }

                small[(ty * boxW) + tx] = area > 0 ? (float)(sum / area / peak) : 0;
            }
        }

        // Centre of mass of the scaled digit (in pixel indices, as MNIST computed it), placed at index 14 of the 28 × 28 field.
        double mass = 0, mx = 0, my = 0;
        for (int y = 0; y < boxH; y++)
        {
            for (int x = 0; x < boxW; x++)
            {
                float v = small[(y * boxW) + x];
                mass += v;
                mx += v * x;
                my += v * y;
            }
        }

        int offsetX = (int)Math.Round((Side / 2) - (mx / mass));
        int offsetY = (int)Math.Round((Side / 2) - (my / mass));
        for (int y = 0; y < boxH; y++)
        {
            int ry = y + offsetY;
            if (ry < 0 || ry >= Side)
            {
                continue;
            }

            for (int x = 0; x < boxW; x++)
            {
                int rx = x + offsetX;
                if (rx >= 0 && rx < Side)
                {
                    result[(ry * Side) + rx] = Math.Clamp(small[(y * boxW) + x], 0, 1);
                }
            }
        }

        return result;
    }
}
