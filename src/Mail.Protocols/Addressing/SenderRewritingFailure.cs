namespace Mail.Protocols.Addressing;

/// <summary>Why <see cref="SenderRewriter"/> could not rewrite a reverse path or reverse an SRS address.</summary>
public enum SenderRewritingFailure
{
    /// <summary>No failure: the call succeeded.</summary>
    None,

    /// <summary>The address is not an SRS address (its local part does not start with <c>SRS0</c> or <c>SRS1</c> and a separator).</summary>
    NotRewritten,

    /// <summary>
    /// The address cannot be read: no <c>@</c>, an empty local part or domain, control characters, broken quoting, or an
    /// SRS local part with a field missing or a timestamp that is not two base32 characters.
    /// </summary>
    Malformed,

    /// <summary>The hash does not match the address under any configured secret: forged, altered, or signed with a secret since dropped.</summary>
    BadHash,

    /// <summary>The hash is good but the timestamp is older than <see cref="SenderRewritingOptions.MaxAge"/> (or lies in the future).</summary>
    Expired,

    /// <summary>The rewritten address would be longer than the 254 octets an RFC 5321 path can carry between its angle brackets.</summary>
    TooLong,
}
