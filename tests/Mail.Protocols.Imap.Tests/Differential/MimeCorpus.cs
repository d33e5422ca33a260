using System.Text;

namespace Mail.Protocols.Imap.Tests.Differential;

/// <summary>One message of the corpus: its file name (without .eml) and its exact octets.</summary>
public sealed record CorpusMessage(string Name, byte[] Content)
{
    public override string ToString() => Name;
}

/// <summary>
/// The MIME corpus of the differential tests: the .eml files under Differential/Corpus (written for this project,
/// CRLF line ends, copied to the test output), then a message with a 2 MB base64 attachment that is generated here,
/// the same octets on every run, rather than committed.
/// </summary>
public static class MimeCorpus
{
    /// <summary>The name of the generated message.</summary>
    public const string LargeAttachmentName = "22-large-attachment";

    /// <summary>Octets of the attachment before base64 (1.5 MiB, so its base64 text is 2 MiB without line ends).</summary>
    public const int LargeAttachmentSize = 3 * 512 * 1024;

    private static readonly Lazy<IReadOnlyList<CorpusMessage>> s_messages = new(Load);

    /// <summary>Every message, ordered by name (the generated one last).</summary>
    public static IReadOnlyList<CorpusMessage> Messages => s_messages.Value;

    /// <summary>The message called <paramref name="name"/>.</summary>
    public static CorpusMessage Get(string name) =>
        Messages.SingleOrDefault(m => m.Name == name) ?? throw new ArgumentException($"No corpus message {name}.", nameof(name));

    private static List<CorpusMessage> Load()
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "Differential", "Corpus");
        var messages = Directory.GetFiles(directory, "*.eml")
            .Order(StringComparer.Ordinal)
            .Select(path => new CorpusMessage(Path.GetFileNameWithoutExtension(path), File.ReadAllBytes(path)))
            .ToList();
        messages.Add(new CorpusMessage(LargeAttachmentName, LargeAttachment()));
        return messages;
    }

    /// <summary>A message with a text part and a 1.5 MiB pseudo-random attachment in base64 (76-character lines).</summary>
    internal static byte[] LargeAttachment()
    {
        var random = new Random(20261106);
        var payload = new byte[LargeAttachmentSize];
        random.NextBytes(payload);
        var text = new StringBuilder();
        text.Append("Date: Sun, 22 Nov 2026 22:22:22 +0000\r\n")
            .Append("From: Big Sender <big@example.com>\r\n")
            .Append("To: someone@example.com\r\n")
            .Append("Subject: A 2 MB attachment\r\n")
            .Append("Message-ID: <large.22@example.com>\r\n")
            .Append("MIME-Version: 1.0\r\n")
            .Append("Content-Type: multipart/mixed; boundary=\"large-boundary\"\r\n")
            .Append("\r\n")
            .Append("--large-boundary\r\n")
            .Append("Content-Type: text/plain; charset=us-ascii\r\n")
            .Append("\r\n")
            .Append("The attachment is 1.5 MiB of noise.\r\n")
            .Append("--large-boundary\r\n")
            .Append("Content-Type: application/octet-stream; name=\"noise.bin\"\r\n")
            .Append("Content-Transfer-Encoding: base64\r\n")
            .Append("Content-Disposition: attachment; filename=\"noise.bin\"\r\n")
            .Append("\r\n");
        var base64 = Convert.ToBase64String(payload);
        for (var i = 0; i < base64.Length; i += 76)
        {
            text.Append(base64, i, Math.Min(76, base64.Length - i)).Append("\r\n");
        }
        text.Append("--large-boundary--\r\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }
}
