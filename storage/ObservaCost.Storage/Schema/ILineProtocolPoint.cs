using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Storage.Schema;

/// <summary>A record that encodes itself as one line-protocol point.</summary>
public interface ILineProtocolPoint
{
    /// <summary>Writes the point (Begin … End). Returns false if the writer rejected it (see <see cref="LineProtocolWriter.LastRejection"/>).</summary>
    bool WriteTo(LineProtocolWriter writer);
}
