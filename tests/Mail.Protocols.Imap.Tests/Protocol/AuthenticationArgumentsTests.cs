using System.Text;
using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Tests.Protocol;

/// <summary>LOGIN, AUTHENTICATE (with SASL-IR), ENABLE and ID arguments.</summary>
public class AuthenticationArgumentsTests
{
    [Theory]
    // RFC 9051 §6.2.3: a001 LOGIN SMITH SESAME
    [InlineData(" SMITH SESAME", "SMITH", "SESAME")]
    [InlineData(" \"fred foobar\" \"p a\\\"ss\"", "fred foobar", "p a\"ss")]
    [InlineData(" {4}\r\nfred {8}\r\np)ss wor", "fred", "p)ss wor")]
    [InlineData(" a]b \"\"", "a]b", "")]
    public void Login(string arguments, string user, string password) =>
        Assert.Equal(new LoginArguments(user, password), Parse.Read(arguments, LoginArguments.Parse));

    [Theory]
    [InlineData("", "Missing space")]
    [InlineData(" SMITH", "Missing space")]
    [InlineData(" SMITH ", "Expected a password")]
    [InlineData(" (SMITH) x", "Expected a user name")]
    [InlineData(" SMITH SESAME extra", "Unexpected text after the command's arguments")]
    [InlineData(" SMITH SESAME ", "Unexpected space at the end of the command")]
    [InlineData(" SMITH {2}\r\n\u00e9\u00e9", "Invalid UTF-8 in a string")]
    public void Bad_login(string arguments, string message) => Assert.Equal(message, Parse.Bad(arguments, LoginArguments.Parse));

    [Fact]
    public void Login_text_hides_the_password() =>
        Assert.DoesNotContain("SESAME", new LoginArguments("SMITH", "SESAME").ToString(), StringComparison.Ordinal);

    [Fact]
    public void Login_with_utf8_password()
    {
        var arguments = Parse.Read(Encoding.UTF8.GetBytes(" user \"p\u00e4ss\""), LoginArguments.Parse);
        Assert.Equal("p\u00e4ss", arguments.Password);
    }

    [Fact]
    public void Authenticate_without_initial_response()
    {
        var arguments = Parse.Read(" plain", AuthenticateArguments.Parse);
        Assert.Equal("PLAIN", arguments.Mechanism);
        Assert.Null(arguments.InitialResponse);
    }

    [Fact]
    public void Authenticate_with_initial_response()
    {
        // RFC 4959 §3: AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=
        var arguments = Parse.Read(" PLAIN dGVzdAB0ZXN0AHRlc3Q=", AuthenticateArguments.Parse);
        Assert.Equal("test\0test\0test", Encoding.ASCII.GetString(arguments.InitialResponse!));
    }

    [Fact]
    public void Authenticate_with_empty_initial_response() =>
        Assert.Empty(Parse.Read(" EXTERNAL =", AuthenticateArguments.Parse).InitialResponse!);

    [Theory]
    [InlineData("", "Missing space")]
    [InlineData(" ", "Expected a mechanism name")]
    [InlineData(" PLAIN ", "Expected an initial response")]
    [InlineData(" PLAIN dGVzd", "Invalid base64 in the initial response")]
    [InlineData(" PLAIN a=b", "Invalid base64 in the initial response")]
    [InlineData(" PLAIN AAAA AAAA", "Unexpected text after the command's arguments")]
    public void Bad_authenticate(string arguments, string message) => Assert.Equal(message, Parse.Bad(arguments, AuthenticateArguments.Parse));

    [Fact]
    public void Enable_capabilities_once_in_upper_case() =>
        Assert.Equal(["CONDSTORE", "QRESYNC", "UTF8=ACCEPT"], Parse.Read(" condstore QRESYNC utf8=accept CondStore", EnableArguments.Parse).Capabilities);

    [Theory]
    [InlineData("", "Expected a capability")]
    [InlineData(" ", "Expected a capability")]
    [InlineData(" \"QRESYNC\"", "Expected a capability")]
    [InlineData(" A  B", "Expected a capability")]
    public void Bad_enable(string arguments, string message) => Assert.Equal(message, Parse.Bad(arguments, EnableArguments.Parse));

    [Fact]
    public void Id_nil() => Assert.Null(Parse.Read(" NIL", IdArguments.Parse).Fields);

    [Fact]
    public void Id_fields_from_the_rfc()
    {
        // RFC 2971 §3.1.
        var fields = Parse.Read(" (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\" \"os\" NIL)", IdArguments.Parse).Fields!;
        Assert.Equal(4, fields.Count);
        Assert.Equal(new KeyValuePair<string, string?>("vendor", "Pink Floyd Music Limited"), fields[2]);
        Assert.Null(fields[3].Value);
        Assert.Empty(Parse.Read(" ()", IdArguments.Parse).Fields!);
    }

    [Fact]
    public void Id_bounds_at_the_limit_and_beyond()
    {
        string Pairs(int count) => " (" + string.Join(' ', Enumerable.Range(0, count).Select(i => $"\"f{i}\" \"v\"")) + ")";
        Assert.Equal(30, Parse.Read(Pairs(30), IdArguments.Parse).Fields!.Count);
        Assert.Equal("More than 30 ID fields", Parse.Bad(Pairs(31), IdArguments.Parse));
        Assert.Single(Parse.Read($" (\"{new string('f', 30)}\" \"{new string('v', 1024)}\")", IdArguments.Parse).Fields!);
        Assert.Equal("ID field name longer than 30 octets", Parse.Bad($" (\"{new string('f', 31)}\" NIL)", IdArguments.Parse));
        Assert.Equal("ID value longer than 1024 octets", Parse.Bad($" (\"f\" \"{new string('v', 1025)}\")", IdArguments.Parse));
    }

    [Theory]
    [InlineData("", "Missing space")]
    [InlineData(" name", "Expected a list of ID fields or NIL")]
    [InlineData(" (name \"x\")", "Expected a string")]
    [InlineData(" (\"name\")", "Missing space")]
    [InlineData(" (\"name\" \"x\"", "Expected \")\"")]
    [InlineData(" (\"name\" x)", "Expected a string")]
    public void Bad_id(string arguments, string message) => Assert.Equal(message, Parse.Bad(arguments, IdArguments.Parse));
}
