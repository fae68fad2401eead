using System;
using System.Security.Cryptography;

namespace QuantGen.Compiler.Calibration;

/// <summary>The model identity a calibration file records: the SHA-256 of the .onnx file's bytes.</summary>
public static class ModelHash
{
    /// <summary>SHA-256 of <paramref name="bytes"/> as 64 lower-case hexadecimal digits.</summary>
    public static string Sha256Hex(byte[] bytes)
    {
        if (bytes == null) throw new ArgumentNullException(nameof(bytes));
        byte[] hash;
        using (var sha = SHA256.Create())
            hash = sha.ComputeHash(bytes);
        const string digits = "0123456789abcdef";
        var chars = new char[hash.Length * 2];
        for (int i = 0; i < hash.Length; i++)
        {
            chars[2 * i] = digits[hash[i] >> 4];
            chars[2 * i + 1] = digits[hash[i] & 0xF];
        }
        return new string(chars);
    }

    /// <summary>The first 12 hex digits: enough to tell hashes apart in a message.</summary>
    public static string Short(string sha256Hex) =>
        sha256Hex == null ? throw new ArgumentNullException(nameof(sha256Hex)) : sha256Hex.Length <= 12 ? sha256Hex : sha256Hex.Substring(0, 12);

    /// <summary>Whether <paramref name="s"/> is 64 hexadecimal digits (either case).</summary>
    public static bool IsSha256Hex(string? s)
    {
        if (s == null || s.Length != 64) return false;
        foreach (char c in s)
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'))
                return false;
        return true;
    }
}
