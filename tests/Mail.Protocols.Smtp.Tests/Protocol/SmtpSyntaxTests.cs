using Mail.Protocols.Smtp.Protocol;

namespace Mail.Protocols.Smtp.Tests.Protocol;

public class SmtpSyntaxTests
{
    private static (bool Ok, string Keyword, byte[] Value) ReadParameter(byte[] parameters)
    {
        var span = (ReadOnlySpan<byte>)parameters;
        var ok = SmtpSyntax.TryReadParameter(ref span, out var keyword, out var value);
        return (ok, System.Text.Encoding.ASCII.GetString(keyword), value.ToArray());
    }

    [Theory]
    [InlineData("SIZE=1000", "SIZE", "1000")]
    [InlineData("BODY=8BITMIME", "BODY", "8BITMIME")]
    [InlineData("SMTPUTF8", "SMTPUTF8", "")]
    [InlineData("ORCPT=rfc822;bob+40example.test", "ORCPT", "rfc822;bob+40example.test")]
    public void Reads_an_esmtp_param(string text, string keyword, string value)
    {
        var (ok, k, v) = ReadParameter(System.Text.Encoding.ASCII.GetBytes(text));

        Assert.True(ok);
        Assert.Equal(keyword, k);
        Assert.Equal(value, System.Text.Encoding.ASCII.GetString(v));
    }

    [Fact]
    public void An_esmtp_value_may_hold_utf8_as_rfc_6531_allows()
    {
        var (ok, _, value) = ReadParameter("ORCPT=utf-8;j\u00f6rg@example.test"u8.ToArray());

        Assert.True(ok);
        Assert.Equal("utf-8;j\u00f6rg@example.test", System.Text.Encoding.UTF8.GetString(value));
    }

    // Found by the SmtpCommandLine fuzz target (Regressions/SmtpCommandLine/esmtp-value-invalid-utf8-*): esmtp-value is
    // %d33-60 / %d62-126 (RFC 5321 §4.1.2), extended only by UTF8-non-ascii (RFC 6531 §3.3); other 8-bit octets were
    // accepted and reached ORCPT as "?".
    [Theory]
    [InlineData(new byte[] { (byte)'B', (byte)'O', (byte)'D', (byte)'Y', (byte)'=', (byte)'8', (byte)'B', 0xFF, 0x80 })]
    [InlineData(new byte[] { (byte)'O', (byte)'R', (byte)'C', (byte)'P', (byte)'T', (byte)'=', (byte)'a', (byte)';', (byte)'b', 0xFA, (byte)'t' })]
    [InlineData(new byte[] { (byte)'S', (byte)'I', (byte)'Z', (byte)'E', (byte)'=', (byte)'1', 0xC3 })]
    public void An_esmtp_value_with_octets_that_are_not_utf8_is_a_syntax_error(byte[] parameter)
    {
        Assert.False(ReadParameter(parameter).Ok);
    }
}
