namespace Mail.Protocols.Sasl;

/// <summary>The names of the SASL mechanisms shared by SMTP AUTH, POP3 AUTH and IMAP AUTHENTICATE.</summary>
public static class SaslMechanisms
{
    /// <summary>PLAIN (RFC 4616).</summary>
    public const string Plain = "PLAIN";
    /// <summary>LOGIN (draft-murchison-sasl-login).</summary>
    public const string Login = "LOGIN";
    /// <summary>CRAM-MD5 (RFC 2195).</summary>
    public const string CramMd5 = "CRAM-MD5";
    /// <summary>SCRAM-SHA-256 (RFC 5802, RFC 7677).</summary>
    public const string ScramSha256 = "SCRAM-SHA-256";
    /// <summary>OAUTHBEARER (RFC 7628): an OAuth 2.0 bearer token; registered by <see cref="OAuthMechanismsExtensions.AddOAuthBearer"/>.</summary>
    public const string OAuthBearer = "OAUTHBEARER";
    /// <summary>XOAUTH2: the bearer-token mechanism clients used before RFC 7628; registered by <see cref="OAuthMechanismsExtensions.AddXOAuth2"/>.</summary>
    public const string XOAuth2 = "XOAUTH2";

    /// <summary>The mechanisms every <see cref="SaslMechanismRegistry"/> starts with, strongest first; the servers offer them in this order by default.</summary>
    public static IReadOnlyList<string> BuiltIn { get; } = [ScramSha256, CramMd5, Plain, Login];

}
