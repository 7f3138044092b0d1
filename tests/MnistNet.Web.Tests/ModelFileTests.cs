namespace MnistNet.Web.Tests;

/// <summary>The page's model loaded from a file: any MnistNet model, a convolutional one included.</summary>
public sealed class ModelFileTests
{
    [Fact]
    public void ConvolutionalModel_LoadsAndGivesTheNetworksProbabilities()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-web-cnn-{Guid.NewGuid():N}.safetensors");
        try
        {
            MnistNet.Networks.Network<float> network = MnistNet.Networks.NetworkSpec.Build<float>("conv4k5,pool,dense16", 1, 28, 28, 10, seed: 5);
            network.Save(path);
            DigitModel model = DigitModel.Create(path, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            Assert.Contains("1x28x28:conv4k5,pool,relu,dense16,relu,dense10", model.Description);
            float[] pixels = [.. Enumerable.Range(0, 784).Select(i => (i * 37 % 255) / 255f)];
            float[] probabilities = model.Probabilities(pixels);
            var x = new MnistNet.LinearAlgebra.Matrix<float>(784, 1);
            for (int k = 0; k < 784; k++)
            {
                x[k, 0] = pixels[k];
            }

            MnistNet.LinearAlgebra.Matrix<float> expected = network.ForwardProp(x, new MnistNet.Networks.NetworkWorkspace<float>(network, 1));
            for (int c = 0; c < 10; c++)
            {
                Assert.Equal(expected[c, 0], probabilities[c]);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
