import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * Starts DynamoDB Local listening on one address only.
 *
 * DynamoDB Local has no option for the listening address: its ServerRunner
 * takes -port only and builds Jetty with `new Server(port)`, which binds every
 * interface. This runner takes the same arguments, builds the same server
 * through ServerRunner, and sets the host of Jetty's connector before it starts.
 *
 *   java -Dstack.dynamodb.host=127.0.0.1 -cp libs/*:launcher LoopbackServerRunner -port 8000 ...
 */
public final class LoopbackServerRunner {
  public static void main(String[] args) throws Exception {
    String host = System.getProperty("stack.dynamodb.host", "127.0.0.1");
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    if (proxy == null) return; // -help or -version: ServerRunner printed it.
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server jetty = (Server) field.get(proxy);
    int set = 0;
    for (Connector connector : jetty.getConnectors()) {
      if (connector instanceof ServerConnector) {
        ((ServerConnector) connector).setHost(host);
        set++;
      }
    }
    if (set == 0) throw new IllegalStateException("DynamoDB Local: no Jetty ServerConnector to bind to " + host);
    proxy.start();
  }
}
