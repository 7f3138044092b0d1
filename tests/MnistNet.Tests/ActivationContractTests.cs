using MnistNet.Activations;
using MnistNet.LinearAlgebra;

namespace MnistNet.Tests;

/// <summary>Argument checks of the activations and the loss, and the blocked softmax's loss over many blocks.</summary>
public class ActivationContractTests
{
    private static readonly Matrix<float> Z = TestData.Random<float>(3, 4, 1);
    private static readonly Matrix<float> Same = new(3, 4);
    private static readonly Matrix<float> Wrong = new(3, 5);

    [Fact]
    public void EveryActivation_RefusesNullAndMismatchedMatrices_NamingTheArgument()
    {
        Assert.Equal("z", Assert.Throws<ArgumentNullException>(() => Activation.ReLU<float>(null!, Same)).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentNullException>(() => Activation.ReLU(Z, null!)).ParamName);
        Assert.Equal("z", Assert.Throws<ArgumentNullException>(() => Activation.ReLU<float>(null!)).ParamName);
        Assert.Equal("z", Assert.Throws<ArgumentNullException>(() => Activation.ReLUDerivative<float>(null!, Same)).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentNullException>(() => Activation.ReLUDerivative(Z, null!)).ParamName);
        Assert.Equal("gradient", Assert.Throws<ArgumentNullException>(() => Activation.ReLUBackward(null!, Z, Same)).ParamName);
        Assert.Equal("z", Assert.Throws<ArgumentNullException>(() => Activation.ReLUBackward(Same, null!, Same)).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentNullException>(() => Activation.ReLUBackward(Same, Z, null!)).ParamName);
        Assert.Equal("z", Assert.Throws<ArgumentNullException>(() => Activation.Softmax<float>(null!, Same)).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentNullException>(() => Activation.Softmax(Z, null!)).ParamName);
        Assert.Equal("z", Assert.Throws<ArgumentNullException>(() => Activation.Softmax<float>(null!)).ParamName);

        AssertShape("destination", () => Activation.ReLU(Z, Wrong));
        AssertShape("destination", () => Activation.ReLUDerivative(Z, Wrong));
        AssertShape("gradient", () => Activation.ReLUBackward(Wrong, Z, Same));
        AssertShape("destination", () => Activation.ReLUBackward(Same, Z, Wrong));
        AssertShape("destination", () => Activation.Softmax(Z, Wrong));
    }

    [Fact]
    public void CrossEntropy_ChecksClassesAndLabels_SayingWhatWasExpected()
    {
        Assert.Equal("classes", Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropy.OneHot<float>([0], classes: 0)).ParamName);
        Assert.Equal(new Matrix<float>(1, 0).Rows, CrossEntropy.OneHot<float>([], classes: 1).Rows);
        var label = Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropy.OneHot<float>([1, 3], classes: 3));
        Assert.StartsWith("Label 3 at index 1 is out of range: expected 0 to 2.", label.Message);

        Matrix<float> p = Activation.Softmax(Z);
        Assert.Equal("probabilities", Assert.Throws<ArgumentNullException>(() => CrossEntropy.Loss<float>(null!, [0])).ParamName);
        var count = Assert.Throws<ArgumentException>(() => CrossEntropy.Loss(p, [0, 1, 2]));
        Assert.StartsWith("Expected one label per column: 4 labels, got 3.", count.Message);
        Assert.Equal("labels", count.ParamName);
        Assert.StartsWith("Label 3 at index 2 is out of range: expected 0 to 2.", Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropy.Loss(p, [0, 1, 3, 0])).Message);
        Assert.Equal(0, CrossEntropy.Loss(new Matrix<float>(3, 0), []));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(300)]
    public void BlockedSoftmax_LossOverManyBlocks_MatchesTheLogOfEachColumnsProbability(int columns)
    {
        // Columns beyond the first block read their label's logit at the right column (offsets within later blocks).
        Matrix<double> z = TestData.Random<double>(10, columns, columns);
        ushort[] labels = Enumerable.Range(0, columns).Select(j => (ushort)((j * 7) % 10)).ToArray();
        var destination = new Matrix<double>(10, columns);
        Activation.SoftmaxColumns(z, destination, 0, columns, labels, out double lossSum);

        Matrix<double> p = Activation.Softmax(z);
        double expected = 0;
        for (int j = 0; j < columns; j++)
        {
            expected -= Math.Log(p[labels[j], j]);
        }

        Assert.Equal(expected, lossSum, 1e-9 * columns);
        Assert.True(TestData.SameBits(p, destination));
    }

    [Fact]
    public void Softmax_OfNoRows_IsEmpty()
    {
        var empty = new Matrix<float>(0, 5);
        Assert.Equal((0, 5), (Activation.Softmax(empty).Rows, Activation.Softmax(empty).Columns));
        Activation.SoftmaxColumns(empty, new Matrix<float>(0, 5), 0, 5, default, out double loss);
        Assert.Equal(0, loss);
    }

    private static void AssertShape(string parameter, Action action)
    {
        var error = Assert.Throws<ArgumentException>(action);
        Assert.Equal(parameter, error.ParamName);
        Assert.StartsWith("Expected a 3 × 4 matrix, got 3 × 5.", error.Message);
    }
}
