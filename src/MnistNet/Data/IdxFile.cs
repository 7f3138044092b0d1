namespace MnistNet.Data;

/// <summary>
/// The contents of an IDX file: an element type, a shape (one size per dimension) and the elements in
/// row-major order, already converted from big-endian to this machine's order.
/// </summary>
public sealed class IdxFile
{
    private readonly int[] _dimensions;
    private readonly Array _data;

    private IdxFile(IdxElementType elementType, int[] dimensions, Array data)
    {
        ElementType = elementType;
        _dimensions = dimensions;
        _data = data;
    }

    /// <summary>Gets the element type.</summary>
    public IdxElementType ElementType { get; }

    /// <summary>Gets the size of each dimension, outermost first (MNIST images: count, 28, 28).</summary>
    public IReadOnlyList<int> Dimensions => _dimensions;

    /// <summary>Gets the number of elements (the product of the dimensions).</summary>
    public int Count => _data.Length;

    /// <summary>
    /// Creates an IDX file from elements; the element type follows from <typeparamref name="T"/>
    /// (<see cref="byte"/>, <see cref="sbyte"/>, <see cref="short"/>, <see cref="int"/>, <see cref="float"/> or <see cref="double"/>).
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="dimensions">At least one non-negative size; their product must equal the number of elements.</param>
    /// <param name="data">The elements, row-major (copied).</param>
    /// <returns>A new <see cref="IdxFile"/>.</returns>
    /// <exception cref="ArgumentException">The shape does not match the data, or there is no dimension.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not an IDX element type.</exception>
    public static IdxFile Create<T>(ReadOnlySpan<int> dimensions, ReadOnlySpan<T> data)
        where T : unmanaged
    {
        IdxElementType type = ElementTypeOf<T>();
        if (dimensions.IsEmpty || dimensions.Length > 255)
        {
            throw new ArgumentException($"Expected 1 to 255 dimensions, got {dimensions.Length}.", nameof(dimensions));
        }

        long product = 1;
        foreach (int d in dimensions)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(dimensions));
            product *= d;
            if (product > Array.MaxLength)
            {
                throw new ArgumentException("The dimensions describe more elements than an array can hold.", nameof(dimensions));
            }
        }

        if (product != data.Length)
        {
            throw new ArgumentException($"The dimensions ({string.Join(" × ", dimensions.ToArray())}) describe {product} elements, but {data.Length} were given.", nameof(data));
        }

        return new IdxFile(type, dimensions.ToArray(), data.ToArray());
    }

    /// <summary>Gets the elements, which must be of type <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The CLR type matching <see cref="ElementType"/>.</typeparam>
    /// <returns>A read-only view of the elements, row-major.</returns>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> does not match <see cref="ElementType"/>.</exception>
    public ReadOnlySpan<T> GetData<T>()
        where T : unmanaged
    {
        if (_data is not T[] typed)
        {
            throw new InvalidOperationException($"This IDX file holds {ElementType} elements ({_data.GetType().GetElementType()!.Name}), not {typeof(T).Name}.");
        }

        return typed;
    }

    /// <summary>Returns a description such as <c>IDX UnsignedByte 60000 × 28 × 28</c>.</summary>
    /// <returns>The element type and shape.</returns>
    public override string ToString() => $"IDX {ElementType} {string.Join(" × ", _dimensions)}";

    internal static IdxFile FromParts(IdxElementType type, int[] dimensions, Array data) => new(type, dimensions, data);

    internal Array RawData => _data;

    internal static int SizeOf(IdxElementType type) => type switch
    {
        IdxElementType.UnsignedByte or IdxElementType.SignedByte => 1,
        IdxElementType.Int16 => 2,
        IdxElementType.Int32 or IdxElementType.Single => 4,
        IdxElementType.Double => 8,
        _ => 0,
    };

    private static IdxElementType ElementTypeOf<T>() =>
        typeof(T) == typeof(byte) ? IdxElementType.UnsignedByte
        : typeof(T) == typeof(sbyte) ? IdxElementType.SignedByte
        : typeof(T) == typeof(short) ? IdxElementType.Int16
        : typeof(T) == typeof(int) ? IdxElementType.Int32
        : typeof(T) == typeof(float) ? IdxElementType.Single
        : typeof(T) == typeof(double) ? IdxElementType.Double
        : throw new NotSupportedException($"{typeof(T).Name} is not an IDX element type: use byte, sbyte, short, int, float or double.");
}
