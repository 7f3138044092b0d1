using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// A dense rows × columns matrix of <typeparamref name="T"/> (float or double), stored row-major in one
/// contiguous, 64-byte-aligned buffer.
/// </summary>
/// <remarks>
/// <para>Layout: row <c>r</c> occupies <c>[r * Stride, r * Stride + Columns)</c> of <see cref="AsSpan"/>; the
/// <c>Stride - Columns</c> padding elements that follow each row exist so every row starts on a 64-byte
/// boundary. Padding is zero when the matrix is created and MnistNet's operations never write to it.</para>
/// <code>
///            col 0 ... col C-1 | padding
///   row 0  [ a00  ...  a0,C-1  | 0 ... 0 ]   ← offset 0
///   row 1  [ a10  ...  a1,C-1  | 0 ... 0 ]   ← offset Stride
///   ...
/// </code>
/// <para>MnistNet keeps the seed's convention of one example per <em>column</em>: a batch of m images is a
/// 784 × m matrix.</para>
/// <para>Every product has two forms: one that writes into a destination you pass (allocating nothing) and
/// one that returns a new matrix. Products involving a transpose never build the transpose.</para>
/// </remarks>
/// <typeparam name="T">The element type: <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Matrix<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int AlignmentBytes = 64;

    private readonly T[] _array;
    private readonly int _offset;

    /// <summary>Creates a zero-filled matrix.</summary>
    /// <param name="rows">Number of rows (≥ 0).</param>
    /// <param name="columns">Number of columns (≥ 0).</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative or the matrix is too large for one buffer.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public Matrix(int rows, int columns)
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"Matrix<{typeof(T).Name}> is not supported: MnistNet matrices hold float or double.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);

        int lanesPerLine = AlignmentBytes / Unsafe.SizeOf<T>();
        long stride = (columns + (long)lanesPerLine - 1) / lanesPerLine * lanesPerLine;
        long length = rows * stride;
        if (length > Array.MaxLength - lanesPerLine)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), $"A {rows} × {columns} matrix of {typeof(T).Name} ({length} elements with padding) is too large for a single buffer.");
        }

        Rows = rows;
        Columns = columns;
        Stride = (int)stride;

        // Pinned so the alignment computed here stays valid for the life of the array.
        _array = GC.AllocateArray<T>((int)length + lanesPerLine, pinned: true);
        _offset = AlignmentOffset(_array, lanesPerLine);
        if (length * Unsafe.SizeOf<T>() >= NativeMemoryHints.Threshold)
        {
            unsafe
            {
                NativeMemoryHints.RequestHugePages(Unsafe.AsPointer(ref UnsafeStart), length * Unsafe.SizeOf<T>());
            }
        }
    }

    /// <summary>Gets the number of rows.</summary>
    public int Rows { get; }

    /// <summary>Gets the number of columns.</summary>
    public int Columns { get; }

    /// <summary>Gets the distance, in elements, between the starts of consecutive rows (≥ <see cref="Columns"/>, a multiple of 64 bytes).</summary>
    public int Stride { get; }

    /// <summary>Gets the number of logical elements, <see cref="Rows"/> × <see cref="Columns"/>.</summary>
    public long Count => (long)Rows * Columns;

    /// <summary>Gets or sets the element at row <paramref name="row"/>, column <paramref name="column"/>.</summary>
    /// <param name="row">Row index in [0, <see cref="Rows"/>).</param>
    /// <param name="column">Column index in [0, <see cref="Columns"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the matrix.</exception>
    public T this[int row, int column]
    {
        get
        {
            CheckIndex(row, column);
            return _array[_offset + (row * Stride) + column];
        }

        set
        {
            CheckIndex(row, column);
            _array[_offset + (row * Stride) + column] = value;
        }
    }

    /// <summary>Creates a zero-filled matrix.</summary>
    /// <param name="rows">Number of rows.</param>
    /// <param name="columns">Number of columns.</param>
    /// <returns>A new <paramref name="rows"/> × <paramref name="columns"/> matrix of zeros.</returns>
    public static Matrix<T> Zeros(int rows, int columns) => new(rows, columns);

    /// <summary>
    /// Creates a matrix whose elements are drawn uniformly from [<paramref name="min"/>, <paramref name="max"/>),
    /// row by row, from a <see cref="Prng"/> seeded with <paramref name="seed"/>.
    /// </summary>
    /// <param name="rows">Number of rows.</param>
    /// <param name="columns">Number of columns.</param>
    /// <param name="min">Inclusive lower bound.</param>
    /// <param name="max">Exclusive upper bound; must be greater than <paramref name="min"/>.</param>
    /// <param name="seed">Seed of the generator; the same seed gives the same bits.</param>
    /// <returns>A new matrix.</returns>
    /// <exception cref="ArgumentException"><paramref name="min"/> is not less than <paramref name="max"/>, or a bound is not finite.</exception>
    public static Matrix<T> RandomUniform(int rows, int columns, T min, T max, long seed) =>
        RandomUniform(rows, columns, min, max, new Prng(seed));

    /// <summary>
    /// Creates a matrix whose elements are drawn uniformly from [<paramref name="min"/>, <paramref name="max"/>),
    /// row by row, from <paramref name="random"/> (which advances).
    /// </summary>
    /// <param name="rows">Number of rows.</param>
    /// <param name="columns">Number of columns.</param>
    /// <param name="min">Inclusive lower bound.</param>
    /// <param name="max">Exclusive upper bound; must be greater than <paramref name="min"/>.</param>
    /// <param name="random">The generator to draw from.</param>
    /// <returns>A new matrix.</returns>
    /// <exception cref="ArgumentException"><paramref name="min"/> is not less than <paramref name="max"/>, or a bound is not finite.</exception>
    public static Matrix<T> RandomUniform(int rows, int columns, T min, T max, Prng random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var result = new Matrix<T>(rows, columns);
        result.FillUniform(min, max, random);
        return result;
    }

    /// <summary>Creates a matrix from a rectangular array; <c>values[r, c]</c> becomes element (r, c).</summary>
    /// <param name="values">The elements.</param>
    /// <returns>A new matrix holding a copy of <paramref name="values"/>.</returns>
    public static Matrix<T> FromArray(T[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var result = new Matrix<T>(values.GetLength(0), values.GetLength(1));
        for (int r = 0; r < result.Rows; r++)
        {
            Span<T> row = result.Row(r);
            for (int c = 0; c < row.Length; c++)
            {
                row[c] = values[r, c];
            }
        }

        return result;
    }

    /// <summary>Creates a matrix from elements listed row by row (no padding).</summary>
    /// <param name="rows">Number of rows.</param>
    /// <param name="columns">Number of columns.</param>
    /// <param name="values">Exactly <paramref name="rows"/> × <paramref name="columns"/> elements, row-major.</param>
    /// <returns>A new matrix holding a copy of <paramref name="values"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="values"/> has the wrong length.</exception>
    public static Matrix<T> FromRowMajor(int rows, int columns, ReadOnlySpan<T> values)
    {
        var result = new Matrix<T>(rows, columns);
        if (values.Length != result.Count)
        {
            throw new ArgumentException($"Expected {rows} × {columns} = {result.Count} values, got {values.Length}.", nameof(values));
        }

        for (int r = 0; r < rows; r++)
        {
            values.Slice(r * columns, columns).CopyTo(result.Row(r));
        }

        return result;
    }

    /// <summary>Fills the matrix with values drawn uniformly from [<paramref name="min"/>, <paramref name="max"/>), row by row.</summary>
    /// <param name="min">Inclusive lower bound.</param>
    /// <param name="max">Exclusive upper bound.</param>
    /// <param name="random">The generator to draw from (it advances by one draw per element).</param>
    /// <exception cref="ArgumentException"><paramref name="min"/> is not less than <paramref name="max"/>, or a bound is not finite.</exception>
    public void FillUniform(T min, T max, Prng random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (!T.IsFinite(min) || !T.IsFinite(max) || !(min < max))
        {
            throw new ArgumentException($"Expected finite bounds with min < max, got [{min}, {max}).", nameof(min));
        }

        T width = max - min;
        for (int r = 0; r < Rows; r++)
        {
            Span<T> row = Row(r);
            for (int c = 0; c < row.Length; c++)
            {
                T u = typeof(T) == typeof(float) ? T.CreateTruncating(random.NextSingle()) : T.CreateTruncating(random.NextDouble());
                T value = min + (u * width);

                // Rounding can land exactly on max for wide ranges; keep the interval half-open.
                row[c] = value < max ? value : T.BitDecrement(max);
            }
        }
    }

    /// <summary>Gets the whole buffer, <see cref="Rows"/> × <see cref="Stride"/> elements, padding included.</summary>
    /// <returns>A span over the matrix's storage.</returns>
    /// <remarks>Writing non-zero values into the padding is allowed but wasteful; MnistNet ignores it.</remarks>
    public Span<T> AsSpan() => _array.AsSpan(_offset, Rows * Stride);

    /// <summary>Gets row <paramref name="row"/>: <see cref="Columns"/> elements, without padding.</summary>
    /// <param name="row">Row index in [0, <see cref="Rows"/>).</param>
    /// <returns>A span over the row's storage.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is outside the matrix.</exception>
    public Span<T> Row(int row)
    {
        if ((uint)row >= (uint)Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"Row index must be in [0, {Rows}).");
        }

        return _array.AsSpan(_offset + (row * Stride), Columns);
    }

    /// <summary>Copies the logical elements into a new rectangular array.</summary>
    /// <returns>A <see cref="Rows"/> × <see cref="Columns"/> array.</returns>
    public T[,] ToArray()
    {
        var result = new T[Rows, Columns];
        for (int r = 0; r < Rows; r++)
        {
            Span<T> row = Row(r);
            for (int c = 0; c < Columns; c++)
            {
                result[r, c] = row[c];
            }
        }

        return result;
    }

    /// <summary>Creates a deep copy.</summary>
    /// <returns>A new matrix with the same shape and elements.</returns>
    public Matrix<T> Clone()
    {
        var result = new Matrix<T>(Rows, Columns);
        CopyTo(result);
        return result;
    }

    /// <summary>Copies every element into <paramref name="destination"/>, which must have the same shape.</summary>
    /// <param name="destination">The matrix to overwrite.</param>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public void CopyTo(Matrix<T> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        RequireSameShape(this, destination, nameof(destination));
        AsSpan().CopyTo(destination.AsSpan());
    }

    /// <summary>Sets every element (and the padding) to zero.</summary>
    public void Clear() => AsSpan().Clear();

    /// <summary>Computes <c>destination = a · b</c>.</summary>
    /// <param name="a">Left operand, M × K.</param>
    /// <param name="b">Right operand, K × N.</param>
    /// <param name="destination">M × N result; must not be <paramref name="a"/> or <paramref name="b"/>.</param>
    /// <exception cref="ArgumentException">The shapes do not match, or <paramref name="destination"/> aliases an operand.</exception>
    public static void Multiply(Matrix<T> a, Matrix<T> b, Matrix<T> destination)
    {
        CheckProduct(a, b, destination, a.Rows, a.Columns, b.Rows, b.Columns, "a · b", "a.Columns must equal b.Rows");
        MatrixKernels.Multiply(a, b, destination, MnistNetRuntime.EffectiveSimdPath, MnistNetRuntime.MaxDegreeOfParallelism);
    }

    /// <summary>Computes <c>destination = a · bᵀ</c> without forming the transpose.</summary>
    /// <param name="a">Left operand, M × K.</param>
    /// <param name="b">Right operand, N × K (its transpose is used).</param>
    /// <param name="destination">M × N result; must not be <paramref name="a"/> or <paramref name="b"/>.</param>
    /// <exception cref="ArgumentException">The shapes do not match, or <paramref name="destination"/> aliases an operand.</exception>
    public static void MultiplyByTranspose(Matrix<T> a, Matrix<T> b, Matrix<T> destination)
    {
        CheckProduct(a, b, destination, a.Rows, a.Columns, b.Columns, b.Rows, "a · bᵀ", "a.Columns must equal b.Columns");
        MatrixKernels.MultiplyByTranspose(a, b, destination, MnistNetRuntime.EffectiveSimdPath, MnistNetRuntime.MaxDegreeOfParallelism);
    }

    /// <summary>Computes <c>destination = aᵀ · b</c> without forming the transpose.</summary>
    /// <param name="a">Left operand, K × M (its transpose is used).</param>
    /// <param name="b">Right operand, K × N.</param>
    /// <param name="destination">M × N result; must not be <paramref name="a"/> or <paramref name="b"/>.</param>
    /// <exception cref="ArgumentException">The shapes do not match, or <paramref name="destination"/> aliases an operand.</exception>
    public static void TransposeAndMultiply(Matrix<T> a, Matrix<T> b, Matrix<T> destination)
    {
        CheckProduct(a, b, destination, a.Columns, a.Rows, b.Rows, b.Columns, "aᵀ · b", "a.Rows must equal b.Rows");
        MatrixKernels.TransposeAndMultiply(a, b, destination, MnistNetRuntime.EffectiveSimdPath, MnistNetRuntime.MaxDegreeOfParallelism);
    }

    /// <summary>Returns <c>this · other</c> as a new matrix.</summary>
    /// <param name="other">Right operand, <see cref="Columns"/> × N.</param>
    /// <returns>A new <see cref="Rows"/> × N matrix.</returns>
    /// <exception cref="ArgumentException">The shapes do not match.</exception>
    public Matrix<T> Multiply(Matrix<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var result = new Matrix<T>(Rows, other.Columns);
        Multiply(this, other, result);
        return result;
    }

    /// <summary>Returns <c>this · otherᵀ</c> as a new matrix, without forming the transpose.</summary>
    /// <param name="other">Right operand, N × <see cref="Columns"/>.</param>
    /// <returns>A new <see cref="Rows"/> × N matrix.</returns>
    /// <exception cref="ArgumentException">The shapes do not match.</exception>
    public Matrix<T> MultiplyByTranspose(Matrix<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var result = new Matrix<T>(Rows, other.Rows);
        MultiplyByTranspose(this, other, result);
        return result;
    }

    /// <summary>Returns <c>thisᵀ · other</c> as a new matrix, without forming the transpose.</summary>
    /// <param name="other">Right operand, <see cref="Rows"/> × N.</param>
    /// <returns>A new <see cref="Columns"/> × N matrix.</returns>
    /// <exception cref="ArgumentException">The shapes do not match.</exception>
    public Matrix<T> TransposeAndMultiply(Matrix<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var result = new Matrix<T>(Columns, other.Columns);
        TransposeAndMultiply(this, other, result);
        return result;
    }

    /// <summary>Adds the column vector <paramref name="column"/> to every column of this matrix, in place: <c>this[r, c] += column[r, 0]</c>.</summary>
    /// <param name="column">A <see cref="Rows"/> × 1 matrix (a bias vector).</param>
    /// <exception cref="ArgumentException"><paramref name="column"/> is not <see cref="Rows"/> × 1.</exception>
    public void AddColumnVector(Matrix<T> column)
    {
        ArgumentNullException.ThrowIfNull(column);
        if (column.Rows != Rows || column.Columns != 1)
        {
            throw new ArgumentException($"Expected a {Rows} × 1 column vector to broadcast over a {Rows} × {Columns} matrix, got {column.Rows} × {column.Columns}.", nameof(column));
        }

        for (int r = 0; r < Rows; r++)
        {
            Span<T> row = Row(r);
            SimdMath.Add(row, column._array[column._offset + (r * column.Stride)], row);
        }
    }

    /// <summary>Writes the sum of each row into <paramref name="destination"/>: <c>destination[r, 0] = Σ_c this[r, c]</c>.</summary>
    /// <param name="destination">A <see cref="Rows"/> × 1 matrix.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not <see cref="Rows"/> × 1.</exception>
    public void SumRows(Matrix<T> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Rows != Rows || destination.Columns != 1)
        {
            throw new ArgumentException($"Expected a {Rows} × 1 destination for the row sums of a {Rows} × {Columns} matrix, got {destination.Rows} × {destination.Columns}.", nameof(destination));
        }

        for (int r = 0; r < Rows; r++)
        {
            destination._array[destination._offset + (r * destination.Stride)] = SimdMath.Sum<T>(Row(r));
        }
    }

    /// <summary>Returns the sum of each row as a new <see cref="Rows"/> × 1 matrix.</summary>
    /// <returns>The row sums.</returns>
    public Matrix<T> SumRows()
    {
        var result = new Matrix<T>(Rows, 1);
        SumRows(result);
        return result;
    }

    /// <summary>Returns the shape, for example <c>Matrix&lt;Single&gt; 10 × 784</c>.</summary>
    /// <returns>A short description.</returns>
    public override string ToString() => $"Matrix<{typeof(T).Name}> {Rows} × {Columns}";

    /// <summary>Gets a reference to element (0, 0); callers must stay within <c>Rows * Stride</c> elements.</summary>
    internal ref T UnsafeStart => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_array), _offset);

    internal static string Shape(Matrix<T> m) => $"{m.Rows} × {m.Columns}";

    internal static void RequireSameShape(Matrix<T> expected, Matrix<T> actual, string paramName)
    {
        if (expected.Rows != actual.Rows || expected.Columns != actual.Columns)
        {
            throw new ArgumentException($"Expected a {Shape(expected)} matrix, got {Shape(actual)}.", paramName);
        }
    }

    private static void CheckProduct(
        Matrix<T> a, Matrix<T> b, Matrix<T> destination, int m, int k, int kb, int n, string formula, string rule)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(destination);
        if (k != kb)
        {
            throw new ArgumentException($"Cannot compute {formula} for a ({Shape(a)}) and b ({Shape(b)}): {rule}.", nameof(b));
        }

        if (destination.Rows != m || destination.Columns != n)
        {
            throw new ArgumentException($"The destination of {formula} for a ({Shape(a)}) and b ({Shape(b)}) must be {m} × {n}, got {Shape(destination)}.", nameof(destination));
        }

        if (ReferenceEquals(destination, a) || ReferenceEquals(destination, b))
        {
            throw new ArgumentException($"The destination of {formula} must not be one of its operands.", nameof(destination));
        }
    }

    private static unsafe int AlignmentOffset(T[] pinnedArray, int lanesPerLine)
    {
        nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinnedArray));
        int misalignment = (int)(address % AlignmentBytes);
        return misalignment == 0 ? 0 : (AlignmentBytes - misalignment) / Unsafe.SizeOf<T>() % lanesPerLine;
    }

    private void CheckIndex(int row, int column)
    {
        if ((uint)row >= (uint)Rows || (uint)column >= (uint)Columns)
        {
            throw new ArgumentOutOfRangeException(row >= 0 && row < Rows ? nameof(column) : nameof(row), $"Index ({row}, {column}) is outside a {Rows} × {Columns} matrix.");
        }
    }
}
