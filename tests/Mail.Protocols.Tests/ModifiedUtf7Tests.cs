using System.Text;
using Mail.Protocols.Text;

namespace Mail.Protocols.Tests;

/// <summary>RFC 3501 §5.1.3 modified UTF-7, both ways.</summary>
public class ModifiedUtf7Tests
{
    [Theory]
    [InlineData("INBOX", "INBOX")]
    [InlineData("", "")]
    [InlineData("A&B", "A&-B")]
    [InlineData("Entw\u00fcrfe", "Entw&APw-rfe")]
    [InlineData("\u00e9t\u00e9", "&AOk-t&AOk-")]
    // The example of RFC 3501 §5.1.3.
    [InlineData("~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e", "~peter/mail/&U,BTFw-/&ZeVnLIqe-")]
    [InlineData("\ud83d\udce7 mail", "&2D3c5w- mail")]
    [InlineData("tab\there", "tab&AAk-here")]
    public void Encodes_and_decodes(string name, string encoded)
    {
        Assert.Equal(encoded, ModifiedUtf7.Encode(name));
        Assert.Equal(name, ModifiedUtf7.Decode(encoded));
        Assert.True(ModifiedUtf7.TryDecode(Encoding.ASCII.GetBytes(encoded), out var decoded));
        Assert.Equal(name, decoded);
    }

    [Theory]
    [InlineData("a&b")]
    [InlineData("&AOk")]
    [InlineData("&AGE-")]
    [InlineData("&AO-")]
    [InlineData("&AOl-")]
    [InlineData("&2D0-")]
    [InlineData("&3Cc-")]
    [InlineData("&AOk=-")]
    [InlineData("&AO/-")]
    [InlineData("caf\u00e9")]
    [InlineData("a\u0001b")]
    public void Refuses_what_is_not_modified_utf7(string encoded)
    {
        Assert.Null(ModifiedUtf7.Decode(encoded));
        Assert.False(ModifiedUtf7.TryDecode(Encoding.Latin1.GetBytes(encoded), out _));
    }
}
