using System.Text;
using Mail.Protocols.Storage;
using Mail.Protocols.Text;

namespace Mail.Protocols.Tests;

/// <summary>
/// Header values of the summary carry the message's octets: UTF-8 as characters, any other 8-bit octet as an
/// <see cref="EscapedOctets"/> escape, never re-read as Latin-1 (which IMAP would then send as UTF-8).
/// </summary>
public sealed class MessageSummaryParserTests
{
    private static MessageSummary Parse(string latin1) =>
        MessageSummaryParser.Parse(new MemoryStream(Encoding.Latin1.GetBytes(latin1.Replace("\n", "\r\n", StringComparison.Ordinal))));

    private static byte[] Octets(string? value) => EscapedOctets.GetBytes(value ?? throw new ArgumentNullException(nameof(value)));

    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    [Fact]
    public void Latin1_header_values_keep_their_octets()
    {
        var summary = Parse(
            "From: Jos\u00e9 Mu\u00f1oz <jos\u00e9@example.es>\n" +
            "To: \"Fran\u00e7ois\" <francois@example.fr>, caf\u00e9@b\u00fccher.example\n" +
            "Subject: Re: r\u00e9sum\u00e9 \u00e0 envoyer\n" +
            "Date: Wed, 11 Nov 2026 11:11:11 +0100\n" +
            "Message-ID: <latin1@example.es>\n" +
            "Content-Type: text/plain; charset=iso-8859-1; name=\"r\u00e9sum\u00e9.txt\"\n" +
            "Content-Description: r\u00e9sum\u00e9\n" +
            "Content-Disposition: attachment; filename=\"caf\u00e9.txt\"\n" +
            "\n" +
            "Voil\u00e0.\n");

        var envelope = summary.Envelope;
        Assert.Equal("Re: r\uDCE9sum\uDCE9 \uDCE0 envoyer", envelope.Subject);
        Assert.Equal(Latin1("Re: r\u00e9sum\u00e9 \u00e0 envoyer"), Octets(envelope.Subject));
        var from = Assert.Single(envelope.From);
        Assert.Equal(Latin1("Jos\u00e9 Mu\u00f1oz"), Octets(from.Name));
        Assert.Equal(Latin1("jos\u00e9"), Octets(from.Mailbox));
        Assert.Equal("example.es", from.Host);
        Assert.Equal(2, envelope.To.Count);
        Assert.Equal(Latin1("Fran\u00e7ois"), Octets(envelope.To[0].Name));
        Assert.Equal(Latin1("caf\u00e9"), Octets(envelope.To[1].Mailbox));
        Assert.Equal(Latin1("b\u00fccher.example"), Octets(envelope.To[1].Host));
        Assert.Equal("<latin1@example.es>", envelope.MessageId);

        var body = summary.Body;
        Assert.Equal(Latin1("r\u00e9sum\u00e9"), Octets(body.Description));
        Assert.Equal(new KeyValuePair<string, string>("charset", "iso-8859-1"), body.Parameters[0]);
        Assert.Equal(Latin1("r\u00e9sum\u00e9.txt"), Octets(body.Parameters[1].Value));
        Assert.Equal(Latin1("caf\u00e9.txt"), Octets(Assert.Single(body.DispositionParameters).Value));
    }

    [Fact]
    public void Utf8_header_values_are_their_characters()
    {
        var message = Encoding.UTF8.GetBytes(
            "From: 山田太郎 <taro@example.jp>\r\n" +
            "To: Zoë Ångström <zoë@exämple.se>\r\n" +
            "Subject: 会議の件 – agenda für Montag\r\n" +
            "\r\n" +
            "body\r\n");
        var envelope = MessageSummaryParser.Parse(new MemoryStream(message)).Envelope;

        Assert.Equal("会議の件 – agenda für Montag", envelope.Subject);
        Assert.Equal(new EnvelopeAddress("山田太郎", null, "taro", "example.jp"), Assert.Single(envelope.From));
        Assert.Equal(new EnvelopeAddress("Zoë Ångström", null, "zoë", "exämple.se"), Assert.Single(envelope.To));
    }

    [Fact]
    public void A_value_mixing_utf8_and_other_octets_escapes_only_the_others()
    {
        // "café" in UTF-8, then "résumé" in Latin-1, folded over two lines.
        var message = Encoding.Latin1.GetBytes("Subject: caf\u00c3\u00a9\r\n and r\u00e9sum\u00e9\r\nFrom: =?utf-8?q?J=C3=B6rg?= <j@example.org>\r\n\r\nbody\r\n");
        var envelope = MessageSummaryParser.Parse(new MemoryStream(message)).Envelope;

        Assert.Equal("café and r\uDCE9sum\uDCE9", envelope.Subject);
        Assert.Equal(Latin1("caf\u00c3\u00a9 and r\u00e9sum\u00e9"), Octets(envelope.Subject));
        // Encoded words stay as they are.
        Assert.Equal(new EnvelopeAddress("=?utf-8?q?J=C3=B6rg?=", null, "j", "example.org"), Assert.Single(envelope.From));
    }
}
