// The soak's messages: the X-Soak-Id field first (the ledger finds the octets it sent from there on), then ordinary
// headers and a text body of a size drawn from a mix (mostly small, some large, a few of a megabyte or more) whose
// lines exercise dot-stuffing both ways: lines that start with a dot, lines that are a lone dot, long lines.

using System.Globalization;
using System.Text;

internal static class SoakMessage
{
    private const string Words = "soak queue relay maildir fetch search expunge idle flag deliver header body octet line " +
        "dot stuffing exactly once durable fsync rename index journal uidlist keyword session greeting ";

    /// <summary>A size from the mix: 60% 0.5 to 4 KiB, 30% 4 to 64 KiB, 9% 64 to 512 KiB, 1% 1 to 2 MiB.</summary>
    public static int DrawSize(Random random)
    {
        var p = random.Next(100);
        return p switch
        {
            < 60 => random.Next(512, 4 * 1024),
            < 90 => random.Next(4 * 1024, 64 * 1024),
            < 99 => random.Next(64 * 1024, 512 * 1024),
            _ => random.Next(1024 * 1024, 2 * 1024 * 1024),
        };
    }

    /// <summary>The message of <paramref name="id"/>, about <paramref name="size"/> octets, CRLF lines.</summary>
    public static byte[] Build(string id, string from, IReadOnlyList<string> to, int size, Random random)
    {
        var text = new StringBuilder(size + 512);
        text.Append(CultureInfo.InvariantCulture, $"{Ledger.IdHeader}: {id}\r\n");
        text.Append(CultureInfo.InvariantCulture, $"From: Soak <{from}>\r\n");
        text.Append(CultureInfo.InvariantCulture, $"To: {string.Join(", ", to.Select(t => $"<{t}>"))}\r\n");
        text.Append(CultureInfo.InvariantCulture, $"Subject: soak message {id}\r\n");
        text.Append(CultureInfo.InvariantCulture, $"Date: {DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture)}\r\n");
        text.Append(CultureInfo.InvariantCulture, $"Message-ID: <{id}.{Environment.ProcessId}@soak.example.test>\r\n");
        text.Append("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n");
        var line = new StringBuilder(1000);
        for (var n = 0; text.Length < size; n++)
        {
            line.Clear();
            switch (random.Next(40))
            {
                case 0:
                    // A lone dot: stuffed to ".." on the wire, it must not end the message.
                    text.Append(".\r\n");
                    continue;
                case 1:
                    text.Append("..\r\n");
                    continue;
                case 2:
                    text.Append("\r\n");
                    continue;
                case 3 or 4:
                    line.Append(". ");
                    break;
                case 5:
                    // A long line, up to the 998 octets RFC 5321 4.5.3.1.6 allows.
                    while (line.Length < 990)
                    {
                        line.Append(Words, 0, Math.Min(Words.Length, 990 - line.Length));
                    }
                    break;
            }
            var width = random.Next(20, 78);
            while (line.Length < width)
            {
                var start = random.Next(Words.Length - 10);
                line.Append(Words, start, Math.Min(10, width - line.Length));
            }
            text.Append(line).Append(CultureInfo.InvariantCulture, $" {n}\r\n");
        }
        text.Append("-- \r\nend of ").Append(id).Append("\r\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }
}
