using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Training;

/// <summary>
/// Random distortions of each training image, drawn anew for every step (<see cref="TrainingOptions.Augmentation"/>):
/// a shift, a rotation and a scaling about the image's centre, and optionally an elastic distortion (Simard, Steinkraus
/// and Platt, 2003: a random displacement field smoothed by a Gaussian of width σ and scaled by α). Pixels are resampled
/// bilinearly, with 0 outside the image.
/// </summary>
/// <remarks>
/// The draws come from a generator seeded by the run's seed and the step number, one image after another on the
/// training thread: the same seed gives the same images whatever the thread count, and a resumed run draws what an
/// uninterrupted one would have.
/// </remarks>
public sealed record Augmentation
{
    /// <summary>Gets the largest shift in pixels, in each direction (uniform in ±this). Default 2.</summary>
    public double MaxShift { get; init; } = 2;

    /// <summary>Gets the largest rotation in degrees (uniform in ±this). Default 10.</summary>
    public double MaxRotation { get; init; } = 10;

    /// <summary>Gets the largest relative change of size (the scale is uniform in 1 ± this). Default 0.1.</summary>
    public double MaxScale { get; init; } = 0.1;

    /// <summary>Gets the elastic distortion's strength α in pixels; 0 (the default) turns it off. Simard et al. used 34 with σ = 4.</summary>
    public double ElasticAlpha { get; init; }

    /// <summary>Gets the elastic distortion's smoothness σ in pixels. Default 4.</summary>
    public double ElasticSigma { get; init; } = 4;

    /// <summary>Gets the distortions <c>--augment</c> turns on: shifts of ±2 pixels, rotations of ±10°, scaling by ±10 %.</summary>
    public static Augmentation Default { get; } = new();

    internal void Validate()
    {
        Check(MaxShift, nameof(MaxShift), 100);
        Check(MaxRotation, nameof(MaxRotation), 180);
        Check(MaxScale, nameof(MaxScale), 0.9);
        Check(ElasticAlpha, nameof(ElasticAlpha), 1000);
        if (!(ElasticSigma > 0 && ElasticSigma <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(ElasticSigma), ElasticSigma, "ElasticSigma must be in (0, 100].");
        }
    }

    private static void Check(double value, string name, double max)
    {
        if (!(value >= 0 && value <= max))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, {max}].");
        }
    }
}

/// <summary>Applies an <see cref="Augmentation"/> to a batch of images in place, with buffers reused from batch to batch.</summary>
/// <typeparam name="T">float or double.</typeparam>
internal sealed class Augmenter<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Augmentation _settings;
    private readonly int _rows;
    private readonly int _columns;
    private readonly double[] _source;
    private readonly double[] _fieldX;
    private readonly double[] _fieldY;
    private readonly double[] _blur;
    private readonly double[] _kernel;
    private readonly Prng _random = new(0);

    public Augmenter(Augmentation settings, int rows, int columns)
    {
        _settings = settings;
        _rows = rows;
        _columns = columns;
        _source = new double[rows * columns];
        // Stryker disable Equality,Conditional : with α = 0 these only allocate buffers (no field is drawn, and fields of zeros
        // displace nothing); the opposite mutants (no buffers when α > 0) would crash every elastic test
        bool elastic = settings.ElasticAlpha > 0;
        _fieldX = new double[elastic ? rows * columns : 0];
        _fieldY = new double[elastic ? rows * columns : 0];
        _blur = new double[elastic ? rows * columns : 0];
        int radius = (int)Math.Ceiling(3 * settings.ElasticSigma);
        _kernel = new double[elastic ? (2 * radius) + 1 : 0];
        // Stryker restore Equality,Conditional
        double sum = 0;
        for (int i = 0; i < _kernel.Length; i++)
        {
            double d = i - radius;
            _kernel[i] = Math.Exp(-d * d / (2 * settings.ElasticSigma * settings.ElasticSigma));
            sum += _kernel[i];
        }

        for (int i = 0; i < _kernel.Length; i++)
        {
            _kernel[i] /= sum;
        }
    }

    /// <summary>Distorts the first <paramref name="count"/> columns of <paramref name="images"/> (one image of rows × columns pixels per column), drawing from <paramref name="seed"/>.</summary>
    public void Apply(Matrix<T> images, int count, long seed)
    {
        _random.Reset(seed);
        Augmentation a = _settings;
        for (int j = 0; j < count; j++)
        {
            // The draws in a fixed order: shift x, shift y, angle, scale, then the elastic fields.
            double shiftX = Symmetric(a.MaxShift);
            double shiftY = Symmetric(a.MaxShift);
            double angle = Symmetric(a.MaxRotation) * Math.PI / 180;
            double scale = 1 + Symmetric(a.MaxScale);
            if (a.ElasticAlpha > 0)
            {
                Field(_fieldX);
                Field(_fieldY);
            }

            Transform(images, j, shiftX, shiftY, angle, scale);
        }
    }

    /// <summary>
    /// Resamples column <paramref name="j"/>: output pixel (y, x) takes the input at the point that the inverse of
    /// "scale by s, rotate by θ about the centre, then shift" maps it to, moved by the elastic field there.
    /// </summary>
    internal void Transform(Matrix<T> images, int j, double shiftX, double shiftY, double angle, double scale)
    {
        int h = _rows, w = _columns;
        for (int p = 0; p < h * w; p++)
        {
            _source[p] = double.CreateTruncating(images[p, j]);
        }

        double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
        double cos = Math.Cos(angle) / scale, sin = Math.Sin(angle) / scale;
        bool elastic = _fieldX.Length > 0;
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                double u = x - cx - shiftX, v = y - cy - shiftY;
                double sx = (cos * u) + (sin * v) + cx;
                double sy = (-sin * u) + (cos * v) + cy;
                if (elastic)
                {
                    sx += _fieldX[(y * w) + x];
                    sy += _fieldY[(y * w) + x];
                }

                images[(y * w) + x, j] = T.CreateTruncating(Sample(sx, sy));
            }
        }
    }

    /// <summary>Draws the two elastic fields (x, then y) from a generator reset to <paramref name="seed"/>, as <see cref="Apply"/> does after an image's four geometric draws; for tests.</summary>
    internal (double[] X, double[] Y) DrawFields(long seed)
    {
        _random.Reset(seed);
        Field(_fieldX);
        Field(_fieldY);
        return (_fieldX, _fieldY);
    }

    /// <summary>Bilinear interpolation of the source image at (x, y), 0 outside it.</summary>
    private double Sample(double x, double y)
    {
        double fx = Math.Floor(x), fy = Math.Floor(y);
        int x0 = (int)fx, y0 = (int)fy;
        double ax = x - fx, ay = y - fy;
        return ((1 - ay) * (((1 - ax) * Pixel(x0, y0)) + (ax * Pixel(x0 + 1, y0)))) + (ay * (((1 - ax) * Pixel(x0, y0 + 1)) + (ax * Pixel(x0 + 1, y0 + 1))));
    }

    private double Pixel(int x, int y) => x < 0 || y < 0 || x >= _columns || y >= _rows ? 0 : _source[(y * _columns) + x];

    private double Symmetric(double max) => max == 0 ? 0 : ((2 * _random.NextDouble()) - 1) * max;

    /// <summary>A displacement field: uniform in ±1 per pixel, smoothed by the Gaussian (separably, 0 beyond the border), times α.</summary>
    private void Field(double[] field)
    {
        int h = _rows, w = _columns, radius = _kernel.Length / 2;
        for (int p = 0; p < field.Length; p++)
        {
            field[p] = (2 * _random.NextDouble()) - 1;
        }

        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                double sum = 0;
                for (int k = -radius; k <= radius; k++)
                {
                    int xx = x + k;
                    sum += xx < 0 || xx >= w ? 0 : _kernel[k + radius] * field[(y * w) + xx];
                }

                _blur[(y * w) + x] = sum;
            }
        }

        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                double sum = 0;
                for (int k = -radius; k <= radius; k++)
                {
                    int yy = y + k;
                    sum += yy < 0 || yy >= h ? 0 : _kernel[k + radius] * _blur[(yy * w) + x];
                }

                field[(y * w) + x] = _settings.ElasticAlpha * sum;
            }
        }
    }
}
