using System.Globalization;
using System.Numerics;
using System.Reflection;
using System.Runtime.InteropServices;
using Google.Protobuf;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Onnx.Protobuf;
using MnistNet.Serialization;

namespace MnistNet.Onnx;

/// <summary>
/// Writes a MnistNet network as an ONNX model: opset 17, one input <c>input</c> of shape [N, inputs] (one example per
/// row, as ONNX and PyTorch expect, pixels / 255), one output <c>probabilities</c> of shape [N, classes], with a dynamic
/// batch size N. Dense layers become <c>Gemm(transB = 1)</c> with the weights as stored ([outputs, inputs]), ReLU
/// becomes <c>Relu</c>, and the softmax/cross-entropy head becomes <c>Softmax(axis = 1)</c>.
/// </summary>
public static class OnnxExport
{
    /// <summary>The ONNX operator set the exported models import.</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version written (IR 8 goes with opset 17).</summary>
    public const int IRVersion = 8;

    /// <summary>The name of the model's input.</summary>
    public const string InputName = "input";

    /// <summary>The name of the model's output.</summary>
    public const string OutputName = "probabilities";

    /// <summary>Writes <paramref name="network"/> to <paramref name="path"/> as an ONNX model, atomically (a failed write leaves any previous file intact).</summary>
    /// <typeparam name="T">float (exported as FLOAT) or double (exported as DOUBLE).</typeparam>
    /// <param name="network">A sequence of dense, convolution, max-pooling, ReLU and dropout layers ending in softmax/cross-entropy, such as a <see cref="DenseNetwork{T}"/> or a network from <see cref="NetworkSpec"/>.</param>
    /// <param name="path">The .onnx file to write.</param>
    /// <exception cref="NotSupportedException">The network has a layer ONNX export does not know.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names <paramref name="path"/>.</exception>
    public static void ExportOnnx<T>(this Network<T> network, string path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ModelProto model = Build(network);
        AtomicFile.Write(path, stream => model.WriteTo(stream));
    }

    /// <summary>Returns <paramref name="network"/> as the bytes of an ONNX model (see <see cref="ExportOnnx{T}"/>).</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="network">A sequence of dense, ReLU and softmax/cross-entropy layers.</param>
    /// <returns>The serialized ModelProto.</returns>
    /// <exception cref="NotSupportedException">The network has a layer ONNX export does not know.</exception>
    public static byte[] ToOnnx<T>(this Network<T> network)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        return Build(network).ToByteArray();
    }

    private static ModelProto Build<T>(Network<T> network)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int elementType = typeof(T) == typeof(float) ? (int)TensorProto.Types.DataType.Float
            : typeof(T) == typeof(double) ? (int)TensorProto.Types.DataType.Double
            : throw new NotSupportedException($"ONNX export supports float and double networks, not {typeof(T).Name}.");
        string version = typeof(Network<>).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
            ?? typeof(Network<>).Assembly.GetName().Version?.ToString() ?? "unknown";

        var graph = new GraphProto { Name = "mnistnet", DocString = $"MnistNet {network.Architecture}" };
        graph.Input.Add(Value(InputName, elementType, network.Inputs, "pixels / 255, one example per row"));
        string current = InputName;
        IReadOnlyList<Layer<T>> layers = network.Layers;

        // Rows of examples flow as [N, values] until the first convolution or pooling, which need [N, C, H, W]: a Reshape
        // there, and a Flatten before the next dense layer (C·H·W in channel, row, column order, as MnistNet keeps them).
        bool image = false;
        for (int i = 0; i < layers.Count; i++)
        {
            bool last = i == layers.Count - 1;
            string output = last ? OutputName : $"layers.{i}.output";
            switch (layers[i])
            {
                case Dense<T> dense:
                    current = image ? Flatten(graph, current, i) : current;
                    image = false;
                    graph.Initializer.Add(Tensor(dense.Weight.Name, dense.Weight.Value, [dense.OutputSize, dense.InputSize], elementType));
                    graph.Initializer.Add(Tensor(dense.Bias.Name, dense.Bias.Value, [dense.OutputSize], elementType));
                    graph.Node.Add(Node("Gemm", $"layers.{i}.gemm", [current, dense.Weight.Name, dense.Bias.Name], output, Int("transB", 1)));
                    break;
                case Conv2D<T> conv:
                    current = image ? current : Reshape(graph, current, i, conv.InChannels, conv.Height, conv.Width);
                    image = true;
                    graph.Initializer.Add(Tensor(conv.Weight.Name, conv.Weight.Value, [conv.OutChannels, conv.InChannels, conv.KernelSize, conv.KernelSize], elementType));
                    graph.Initializer.Add(Tensor(conv.Bias.Name, conv.Bias.Value, [conv.OutChannels], elementType));
                    graph.Node.Add(Node(
                        "Conv",
                        $"layers.{i}.conv",
                        [current, conv.Weight.Name, conv.Bias.Name],
                        output,
                        Ints("kernel_shape", conv.KernelSize, conv.KernelSize),
                        Ints("pads", conv.Pad, conv.Pad, conv.Pad, conv.Pad),
                        Ints("strides", 1, 1)));
                    break;
                case MaxPool2D<T> pool:
                    current = image ? current : Reshape(graph, current, i, pool.Channels, pool.Height, pool.Width);
                    image = true;
                    graph.Node.Add(Node("MaxPool", $"layers.{i}.maxpool", [current], output, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)));
                    break;
                case ReLU<T>:
                    graph.Node.Add(Node("Relu", $"layers.{i}.relu", [current], output));
                    break;
                case Dropout<T>:
                    // The identity at inference: no node.
                    continue;
                case SoftmaxCrossEntropy<T> when last:
                    current = image ? Flatten(graph, current, i) : current;
                    graph.Node.Add(Node("Softmax", $"layers.{i}.softmax", [current], output, Int("axis", 1)));
                    break;
                default:
                    throw new NotSupportedException($"ONNX export does not know layer {i} ({layers[i]}) of {network.Architecture}; it exports dense, convolution, max pooling, ReLU, dropout (as nothing) and a final softmax.");
            }

            current = output;
        }

        if (current != OutputName)
        {
            throw new NotSupportedException($"ONNX export needs a network that ends in softmax; {network.Architecture} does not.");
        }

        graph.Output.Add(Value(OutputName, elementType, network.Outputs, "class probabilities, one example per row"));
        var model = new ModelProto
        {
            IrVersion = IRVersion,
            ProducerName = "MnistNet",
            ProducerVersion = version,
            Domain = "net.mnistnet",
            ModelVersion = 1,
            DocString = $"{network.Architecture}: {network.Inputs} inputs (pixels / 255), {network.Outputs} classes.",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = Opset });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "architecture", Value = network.Architecture });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "mnistnet_version", Value = version });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "input_scale", Value = "pixel / 255" });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "classes", Value = network.Outputs.ToString(CultureInfo.InvariantCulture) });
        return model;
    }

    private static ValueInfoProto Value(string name, int elementType, int width, string doc)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = width });
        return new ValueInfoProto
        {
            Name = name,
            DocString = doc,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape } },
        };
    }

    /// <summary>A matrix's logical elements, row by row (its padded stride left out), as little-endian raw data.</summary>
    private static TensorProto Tensor<T>(string name, Matrix<T> value, long[] dims, int elementType)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = Marshal.SizeOf<T>();
        byte[] bytes = new byte[value.Rows * value.Columns * size];
        for (int r = 0; r < value.Rows; r++)
        {
            MemoryMarshal.AsBytes(value.Row(r)).CopyTo(bytes.AsSpan(r * value.Columns * size));
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw data is little-endian; this machine is not.");
        }

        var tensor = new TensorProto { Name = name, DataType = elementType, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.Add(dims);
        return tensor;
    }

    private static NodeProto Node(string op, string name, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.Add(inputs);
        node.Output.Add(output);
        node.Attribute.Add(attributes);
        return node;
    }

    /// <summary>[N, C·H·W] → [N, C, H, W] before layer <paramref name="i"/>; returns the reshaped value's name.</summary>
    private static string Reshape(GraphProto graph, string current, int i, int channels, int height, int width)
    {
        long[] dims = [-1, channels, height, width];
        var shape = new TensorProto
        {
            Name = $"layers.{i}.image_shape",
            DataType = (int)TensorProto.Types.DataType.Int64,
            RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(dims.AsSpan())),
        };
        shape.Dims.Add(4);
        graph.Initializer.Add(shape);
        string output = $"layers.{i}.image";
        graph.Node.Add(Node("Reshape", $"layers.{i}.reshape", [current, shape.Name], output));
        return output;
    }

    /// <summary>[N, C, H, W] → [N, C·H·W] before layer <paramref name="i"/>; returns the flattened value's name.</summary>
    private static string Flatten(GraphProto graph, string current, int i)
    {
        string output = $"layers.{i}.flat";
        graph.Node.Add(Node("Flatten", $"layers.{i}.flatten", [current], output, Int("axis", 1)));
        return output;
    }

    private static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.Add(values);
        return attribute;
    }

    private static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };
}
