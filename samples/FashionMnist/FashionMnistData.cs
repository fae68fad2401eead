using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;

namespace FashionMnist;

/// <summary>Where a <see cref="FashionMnistData"/> set was read from.</summary>
public enum FashionMnistSource
{
    /// <summary>The full set installed by <c>apt-get install dataset-fashion-mnist</c>.</summary>
    DebianPackage,

    /// <summary>The small slice committed under the sample's <c>Data/</c> folder.</summary>
    CommittedSlice,

    /// <summary>Files named by the caller through <see cref="FashionMnistData.FromFiles"/>.</summary>
    Files,
}

/// <summary>
/// Fashion-MNIST images and labels read from the dataset's gzip-compressed idx files.
/// Each image is 28x28 = 784 floats, row-major, <c>pixel / 255</c> (in [0, 1], no mean/std
/// normalization): exactly what the sample model was trained on (see train/train.py).
/// </summary>
public sealed class FashionMnistData
{
    public const int ImageSide = 28;
    public const int PixelsPerImage = ImageSide * ImageSide;
    public const int ClassCount = 10;

    /// <summary>Where the Debian package <c>dataset-fashion-mnist</c> installs the full dataset.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    private const int ImagesMagic = 0x00000803; // unsigned byte, 3 dimensions
    private const int LabelsMagic = 0x00000801; // unsigned byte, 1 dimension

    private static readonly string[] s_classNames =
    [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ];

    private readonly float[][] _images;
    private readonly byte[] _labels;

    private FashionMnistData(float[][] images, byte[] labels, FashionMnistSource source, string imagesPath, string labelsPath)
    {
        _images = images;
        _labels = labels;
        Source = source;
        ImagesPath = imagesPath;
        LabelsPath = labelsPath;
    }

    /// <summary>Class names in label order (0 = T-shirt/top ... 9 = Ankle boot).</summary>
    public static IReadOnlyList<string> ClassNames => s_classNames;

    /// <summary>Images, each a <c>float[784]</c> holding <c>pixel / 255</c>.</summary>
    public IReadOnlyList<float[]> Images => _images;

    /// <summary>Labels in 0..9, one per image.</summary>
    public IReadOnlyList<byte> Labels => _labels;

    public int Count => _labels.Length;

    public FashionMnistSource Source { get; }

    public string ImagesPath { get; }

    public string LabelsPath { get; }

    /// <summary>One line for the console, e.g. "10000 test images from /usr/share/datasets/fashion-mnist (dataset-fashion-mnist)".</summary>
    public string Description => Source switch
    {
        FashionMnistSource.DebianPackage => $"{Count} images from {Path.GetDirectoryName(ImagesPath)} (dataset-fashion-mnist)",
        FashionMnistSource.CommittedSlice => $"{Count} images from the committed slice {ImagesPath} (apt-get install dataset-fashion-mnist for the full set)",
        _ => $"{Count} images from {ImagesPath}",
    };

    /// <summary>
    /// The test set: all 10,000 images when the Debian package is installed, otherwise the first
    /// 1,000 from the slice under <c>Data/</c> next to the executable. <see cref="Source"/> says which.
    /// </summary>
    public static FashionMnistData LoadTest() => LoadSplit("t10k", "slice1000", count: null);

    /// <summary>
    /// The first <paramref name="count"/> test images, from the same files as <see cref="LoadTest()"/>; only those
    /// are decompressed, so reading one image costs little (the start-up measurement depends on it).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The files hold fewer than <paramref name="count"/> images.</exception>
    public static FashionMnistData LoadTest(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return LoadSplit("t10k", "slice1000", count);
    }

    /// <summary>
    /// The first <paramref name="count"/> training images, for calibration: from the full 60,000 when
    /// the Debian package is installed, otherwise from the 512-image slice under <c>Data/</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The files hold fewer than <paramref name="count"/> images.</exception>
    public static FashionMnistData LoadCalibration(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return LoadSplit("train", "slice512", count);
    }

    /// <summary>Reads an images file and a labels file (idx, gzip); <paramref name="count"/> limits to the first images.</summary>
    public static FashionMnistData FromFiles(string imagesPath, string labelsPath, int? count = null) =>
        Read(imagesPath, labelsPath, count, FashionMnistSource.Files);

    private static FashionMnistData LoadSplit(string split, string slice, int? count)
    {
        string images = $"{split}-images-idx3-ubyte";
        string labels = $"{split}-labels-idx1-ubyte";

        string debianImages = Path.Combine(DebianDirectory, images + ".gz");
        string debianLabels = Path.Combine(DebianDirectory, labels + ".gz");
        if (File.Exists(debianImages) && File.Exists(debianLabels))
        {
            return Read(debianImages, debianLabels, count, FashionMnistSource.DebianPackage);
        }

        string dataDirectory = Path.Combine(AppContext.BaseDirectory, "Data");
        string sliceImages = Path.Combine(dataDirectory, $"{images}.{slice}.gz");
        string sliceLabels = Path.Combine(dataDirectory, $"{labels}.{slice}.gz");
        if (File.Exists(sliceImages) && File.Exists(sliceLabels))
        {
            return Read(sliceImages, sliceLabels, count, FashionMnistSource.CommittedSlice);
        }

        throw new FileNotFoundException(
            $"Fashion-MNIST '{split}' files not found: neither {debianImages} (apt-get install dataset-fashion-mnist) " +
            $"nor {sliceImages} and {sliceLabels} (the sample's project copies Data/ next to the executable).",
            sliceImages);
    }

    private static FashionMnistData Read(string imagesPath, string labelsPath, int? count, FashionMnistSource source)
    {
        byte[] labels = ReadIdx(labelsPath, LabelsMagic, count, out _);
        byte[] pixels = ReadIdx(imagesPath, ImagesMagic, count, out int imageCount);
        if (imageCount != labels.Length)
        {
            throw new InvalidDataException(
                $"{imagesPath} holds {imageCount} images but {labelsPath} holds {labels.Length} labels.");
        }

        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= ClassCount)
            {
                throw new InvalidDataException($"{labelsPath}: label {labels[i]} at index {i} is not in 0..{ClassCount - 1}.");
            }
        }

        var images = new float[imageCount][];
        for (int i = 0; i < imageCount; i++)
        {
            var image = new float[PixelsPerImage];
            int offset = i * PixelsPerImage;
            for (int p = 0; p < PixelsPerImage; p++)
            {
                // Division, not multiplication by 1/255f: it rounds the same as the training script's
                // float32(pixel) / float32(255), so inputs are bit-identical to what torch saw.
                image[p] = pixels[offset + p] / 255f;
            }

            images[i] = image;
        }

        return new FashionMnistData(images, labels, source, imagesPath, labelsPath);
    }

    /// <summary>
    /// Reads the first <paramref name="count"/> items (all when null) of a gzip-compressed idx file.
    /// Header, big-endian: magic (0x0000, type 0x08 = unsigned byte, dimension count), then one
    /// uint32 per dimension. Images must be N x 28 x 28, labels N.
    /// </summary>
    private static byte[] ReadIdx(string path, int expectedMagic, int? count, out int itemCount)
    {
        try
        {
            using FileStream file = File.OpenRead(path);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);

            int magic = ReadBigEndianInt32(gzip);
            if (magic != expectedMagic)
            {
                string expected = expectedMagic == ImagesMagic ? "images (0x00000803)" : "labels (0x00000801)";
                throw new InvalidDataException(
                    $"{path}: idx magic number 0x{magic:X8}, expected {expected}. Is this a Fashion-MNIST idx .gz file of the right kind?");
            }

            int dimensions = magic & 0xFF;
            var shape = new int[dimensions];
            for (int d = 0; d < dimensions; d++)
            {
                shape[d] = ReadBigEndianInt32(gzip);
                if (shape[d] < 0)
                {
                    throw new InvalidDataException($"{path}: idx dimension {d} is {(uint)shape[d]}, too large.");
                }
            }

            if (dimensions == 3 && (shape[1] != ImageSide || shape[2] != ImageSide))
            {
                throw new InvalidDataException($"{path}: images are {shape[1]}x{shape[2]}, expected {ImageSide}x{ImageSide}.");
            }

            itemCount = shape[0];
            if (count is int wanted)
            {
                if (wanted > itemCount)
                {
                    throw new ArgumentOutOfRangeException(nameof(count), wanted, $"{path} holds only {itemCount} items.");
                }

                itemCount = wanted;
            }

            int itemBytes = dimensions == 3 ? PixelsPerImage : 1;
            var data = new byte[checked(itemCount * itemBytes)];
            gzip.ReadExactly(data);
            return data;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: the idx file ends before the size its header announces (truncated?).", e);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            // Thrown by GZipStream: the file is not gzip at all, or its compressed data is damaged.
            throw new InvalidDataException($"{path}: not a valid gzip-compressed idx file ({e.Message}).", e);
        }
    }

    private static int ReadBigEndianInt32(Stream stream)
    {
        Span<byte> bytes = stackalloc byte[4];
        stream.ReadExactly(bytes);
        return (bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3];
    }
}
